/*  entry.c: the bytes of a Raft log entry. See entry.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/methods.h"
#include "bigendian.h"
#include "cluster/entry.h"
#include "dossier/v1/cluster.pb-c.h"
#include "log.h"

static const uint8_t s_magic[4] = {'D', 'S', 'R', '1'};

bool
cluster_entry_decode(const void *data, size_t size, cluster_entry_t *entry) {
    const uint8_t *bytes = data;
    if (size < CLUSTER_ENTRY_HEADER || memcmp(bytes, s_magic, 4) != 0) {
        return false;
    }
    entry->type = (uint32_t)be_get(bytes + 4, 4);
    entry->origin = be_get(bytes + 8, 8);
    entry->boot = be_get(bytes + 16, 8);
    entry->seq = be_get(bytes + 24, 8);
    entry->time_ms = (int64_t)be_get(bytes + 32, 8);
    uint64_t length = be_get(bytes + 40, 8);
    entry->payload = bytes + CLUSTER_ENTRY_HEADER;
    entry->payload_size = (size_t)length;
    return length <= size - CLUSTER_ENTRY_HEADER &&
           (entry->type == CLUSTER_ENTRY_BATCH ||
            entry->type == CLUSTER_ENTRY_LEADER ||
            entry->type == CLUSTER_ENTRY_BARRIER);
}

void
cluster_entry_put_header(uint8_t *out, const cluster_entry_t *entry) {
    memcpy(out, s_magic, 4);
    be_put(out + 4, entry->type, 4);
    be_put(out + 8, entry->origin, 8);
    be_put(out + 16, entry->boot, 8);
    be_put(out + 24, entry->seq, 8);
    be_put(out + 32, (uint64_t)entry->time_ms, 8);
    be_put(out + 40, entry->payload_size, 8);
}

void
cluster_entry_set_time(uint8_t *data, int64_t time_ms) {
    be_put(data + 32, (uint64_t)time_ms, 8);
}

/*  Frees what s_pack_job allocated for one write. */
static void
s_write_clear(Dossier__V1__ClusterWrite *write) {
    free(write->input.data);
}

/*  Fills write from job, borrowing its strings; the input is packed into
    a malloc'd buffer. Returns false when out of memory. */
static bool
s_pack_job(const job_t *job, Dossier__V1__ClusterWrite *write) {
    dossier__v1__cluster_write__init(write);
    write->method = (char *)job->method->full_name;
    if (job->input) {
        size_t size = protobuf_c_message_get_packed_size(job->input);
        write->input.data = malloc(size ? size : 1);
        if (!write->input.data) {
            return false;
        }
        write->input.len =
            protobuf_c_message_pack(job->input, write->input.data);
    }
    write->user = (char *)job->user;
    write->user_key = (char *)job->user_key;
    write->role = (int32_t)job->role;
    write->via = (char *)job->via;
    write->token_id = (char *)job->token_id;
    write->idempotency_key = (char *)job->idempotency_key;
    write->audit_only = job->audit_only;
    if (job->audit_only) {
        write->code = (int32_t)job->code;
        write->message = (char *)job->message;
    }
    return true;
}

uint8_t *
cluster_entry_pack_batch(const cluster_entry_t *head, job_t **jobs, size_t n,
                         size_t *size_p, dossier_error_t *err) {
    Dossier__V1__ClusterBatch batch = DOSSIER__V1__CLUSTER_BATCH__INIT;
    Dossier__V1__ClusterWrite *writes = calloc(n ? n : 1, sizeof *writes);
    Dossier__V1__ClusterWrite **pointers = calloc(n ? n : 1, sizeof *pointers);
    uint8_t *out = NULL;
    bool ok = writes && pointers;
    for (size_t i = 0; ok && i < n; i++) {
        pointers[batch.n_writes] = &writes[batch.n_writes];
        ok = s_pack_job(jobs[i], &writes[batch.n_writes++]);
    }
    if (ok) {
        batch.writes = pointers;
        size_t size = dossier__v1__cluster_batch__get_packed_size(&batch);
        size_t padded = CLUSTER_ENTRY_PADDED(CLUSTER_ENTRY_HEADER + size);
        out = calloc(1, padded);
        if (out) {
            cluster_entry_t header = *head;
            header.type = CLUSTER_ENTRY_BATCH;
            header.payload_size = size;
            cluster_entry_put_header(out, &header);
            dossier__v1__cluster_batch__pack(&batch,
                                             out + CLUSTER_ENTRY_HEADER);
            *size_p = padded;
        }
    }
    for (size_t i = 0; writes && i < batch.n_writes; i++) {
        s_write_clear(&writes[i]);
    }
    free(writes);
    free(pointers);
    if (!out) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
    }
    return out;
}

/*  A job for one write of an entry, or NULL (logged) when the write
    cannot be applied here, or out of memory (*oom set). */
static job_t *
s_unpack_job(const Dossier__V1__ClusterWrite *write, bool *oom) {
    char full_name[128];
    snprintf(full_name, sizeof full_name, "%s", write->method);
    const method_t *method = methods_find(full_name);
    if (!method || (!method->write && !write->audit_only)) {
        log_warn("cluster: an entry's write names the method '%.64s', which "
                 "writes nothing here: left out",
                 full_name);
        return NULL;
    }
    job_t *job = job_new();
    if (!job) {
        *oom = true;
        return NULL;
    }
    job->method = method;
    if (write->input.len || !write->audit_only) {
        job->input = protobuf_c_message_unpack(
            method->input, NULL, write->input.len, write->input.data);
        if (!job->input) {
            log_warn("cluster: an entry's %s request does not decode: left "
                     "out",
                     method->full_name);
            job_destroy(&job);
            return NULL;
        }
    }
    snprintf(job->user, sizeof job->user, "%s", write->user);
    snprintf(job->user_key, sizeof job->user_key, "%s", write->user_key);
    job->role = write->role >= ROLE_NONE && write->role <= ROLE_GATEWAY
                    ? (role_t)write->role
                    : ROLE_NONE;
    snprintf(job->via, sizeof job->via, "%s", write->via);
    snprintf(job->token_id, sizeof job->token_id, "%s", write->token_id);
    snprintf(job->idempotency_key, sizeof job->idempotency_key, "%s",
             write->idempotency_key);
    job->audit_only = write->audit_only;
    if (job->audit_only) {
        job->code = (dossier_status_t)write->code;
        snprintf(job->message, sizeof job->message, "%s", write->message);
    }
    return job;
}

dossier_status_t
cluster_entry_unpack_batch(const cluster_entry_t *entry, job_t ***jobs_p,
                           size_t *n_p, dossier_error_t *err) {
    *jobs_p = NULL;
    *n_p = 0;
    Dossier__V1__ClusterBatch *batch = dossier__v1__cluster_batch__unpack(
        NULL, entry->payload_size, entry->payload);
    if (!batch) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the entry's batch does not decode");
    }
    job_t **jobs = calloc(batch->n_writes ? batch->n_writes : 1, sizeof *jobs);
    bool oom = !jobs;
    size_t n = 0;
    for (; !oom && n < batch->n_writes; n++) {
        jobs[n] = s_unpack_job(batch->writes[n], &oom);
    }
    dossier__v1__cluster_batch__free_unpacked(batch, NULL);
    if (oom) {
        for (size_t i = 0; i < n; i++) {
            job_destroy(&jobs[i]);
        }
        free(jobs);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    *jobs_p = jobs;
    *n_p = n;
    return DOSSIER_OK;
}
