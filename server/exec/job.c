/*  job.c: allocation and outcome of a job; see job.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>

#include <zmq.h>

#include "exec/job.h"

job_t *
job_new(void) {
    return calloc(1, sizeof(job_t));
}

void
job_destroy(job_t **job_p) {
    if (!job_p || !*job_p) {
        return;
    }
    job_t *job = *job_p;
    if (job->input) {
        protobuf_c_message_free_unpacked(job->input, NULL);
    }
    if (job->state && job->state_free) {
        job->state_free(job->state);
    }
    free(job->payload);
    free(job);
    *job_p = NULL;
}

int64_t
job_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
job_expired(const job_t *job) {
    return job->deadline && job_now_ms() >= job->deadline;
}

dossier_status_t
job_set_bytes(job_t *job, const void *data, size_t size, dossier_error_t *err) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory for a %zu-byte reply", size);
    }
    if (size) {
        memcpy(copy, data, size);
    }
    free(job->payload);
    job->payload = copy;
    job->payload_size = size;
    return DOSSIER_OK;
}

dossier_status_t
job_set_payload(job_t *job, const ProtobufCMessage *message,
                dossier_error_t *err) {
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory for a %zu-byte reply", size);
    }
    protobuf_c_message_pack(message, data);
    free(job->payload);
    job->payload = data;
    job->payload_size = size;
    return DOSSIER_OK;
}

void
job_finish(job_t *job, dossier_status_t code, const dossier_error_t *err) {
    job->code = code;
    if (code == DOSSIER_OK) {
        job->message[0] = '\0';
        return;
    }
    free(job->payload);
    job->payload = NULL;
    job->payload_size = 0;
    const char *text =
        err && err->message[0] ? err->message : dossier_strerror(code);
    snprintf(job->message, sizeof job->message, "%s", text);
}

int
job_send(void *socket, job_t *job) {
    if (job) {
        __atomic_add_fetch(&job->handoffs, 1, __ATOMIC_RELEASE);
    }
    return zmq_send(socket, &job, sizeof job, 0) == (int)sizeof job ? 0 : -1;
}

int
job_recv(void *socket, job_t **job_p, int flags) {
    job_t *job = NULL;
    int size = zmq_recv(socket, &job, sizeof job, flags);
    if (size < 0) {
        return -1;
    }
    if (size != (int)sizeof job) {
        errno = EPROTO;
        return -1;
    }
    if (job) {
        (void)__atomic_load_n(&job->handoffs, __ATOMIC_ACQUIRE);
    }
    *job_p = job;
    return 0;
}
