/*  events.c: the change feed as server-sent events (see events.h).

    The relay thread owns the SUB socket; it wakes on a message or on
    zmq_ctx_shutdown (events_destroy), never on a timer. Streams run on
    libmicrohttpd's connection threads: MHD calls s_read for more of the
    body, and s_read waits on the ring's condition variable, at most
    keepalive_s, so a stream holds no lock while the browser reads.
    Everything the streams share (the ring, its count, the stop flag, the
    number of streams) is under one mutex. */
#include "events.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <zmq.h>

#include "dossier/v1/reports.pb-c.h"
#include "json.h"

#define S_TOPIC "dossier.v1.change"
/* A ChangeEvent is small (an id, a user name); a larger frame is not one. */
#define S_MAX_EVENT_BYTES 65536

struct events {
    events_config_t config;
    char *feed;
    void *zmq_ctx;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char **ring;              /* ring[i % buffer]: the SSE text of event i */
    unsigned long long count; /* events relayed; the next one's number */
    /* This gateway run's tag, the first part of every event id
       ("RUN-N"): a Last-Event-ID of an earlier run (its numbers mean
       nothing here) is told apart from one of ours. */
    char run[17];
    unsigned clients;
    bool stopping;
};

typedef struct {
    events_t *events;
    int fd;                  /* the connection's socket, -1 if unknown */
    unsigned long long next; /* the number of the next event to send */
    bool unknown_gap;        /* owes the client a gap of unknown size */
    char *pending;           /* text being sent (malloc'd) */
    size_t offset;
} s_stream_t;

/* ---- The relay thread ---- */

static char *
s_event_text(const char *run, unsigned long long number, const uint8_t *data,
             size_t size) {
    Dossier__V1__ChangeEvent *event =
        dossier__v1__change_event__unpack(NULL, size, data);
    if (event == NULL) {
        return NULL; /* not a ChangeEvent: skipped */
    }
    char *json = json_from_message(&event->base, JSON_COMPACT);
    dossier__v1__change_event__free_unpacked(event, NULL);
    if (json == NULL) {
        return NULL;
    }
    size_t n = strlen(json) + 64;
    char *text = malloc(n);
    if (text != NULL) {
        snprintf(text, n, "id: %s-%llu\nevent: change\ndata: %s\n\n", run,
                 number, json);
    }
    free(json);
    return text;
}

static void
s_publish(events_t *events, const uint8_t *data, size_t size) {
    pthread_mutex_lock(&events->lock);
    char *text = s_event_text(events->run, events->count, data, size);
    if (text != NULL) {
        size_t slot = (size_t)(events->count % events->config.buffer);
        free(events->ring[slot]);
        events->ring[slot] = text;
        events->count++;
        pthread_cond_broadcast(&events->changed);
    }
    pthread_mutex_unlock(&events->lock);
}

static void *
s_relay(void *arg) {
    events_t *events = arg;
    void *sub = zmq_socket(events->zmq_ctx, ZMQ_SUB);
    if (sub == NULL) {
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    if (events->config.server_key != NULL) {
        zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, events->config.server_key, 40);
        zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, events->config.public_key, 40);
        zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, events->config.secret_key, 40);
    }
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, S_TOPIC, strlen(S_TOPIC));
    int64_t max_size = S_MAX_EVENT_BYTES;
    zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    if (zmq_connect(sub, events->feed) != 0) {
        fprintf(stderr, "dossier-gateway: events: cannot connect to %s: %s\n",
                events->feed, zmq_strerror(zmq_errno()));
        zmq_close(sub);
        return NULL;
    }
    for (;;) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, sub, 0) < 0) {
            zmq_msg_close(&topic);
            break; /* ETERM: events_destroy */
        }
        bool more = zmq_msg_more(&topic);
        bool ours = zmq_msg_size(&topic) == strlen(S_TOPIC) &&
                    memcmp(zmq_msg_data(&topic), S_TOPIC, strlen(S_TOPIC)) == 0;
        zmq_msg_close(&topic);
        if (!more) {
            continue;
        }
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, sub, 0) < 0) {
            zmq_msg_close(&body);
            break;
        }
        if (ours) {
            s_publish(events, zmq_msg_data(&body), zmq_msg_size(&body));
        }
        /* Frames a later server may append are read and dropped. */
        more = zmq_msg_more(&body);
        zmq_msg_close(&body);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, sub, 0) < 0) {
                zmq_msg_close(&extra);
                break;
            }
            more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
    }
    zmq_close(sub);
    return NULL;
}

/* ---- Start and stop ---- */

/* A run tag: 16 hex digits, random where the kernel gives randomness,
   else the start time (two runs in the same microsecond aside, still
   distinct). */
static void
s_new_run(char run[17]) {
    uint64_t bits = 0;
    if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != (ssize_t)sizeof bits) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        bits = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000;
    }
    snprintf(run, 17, "%016llx", (unsigned long long)bits);
}

static char *
s_dup(const char *s) {
    return s != NULL ? strdup(s) : NULL;
}

dossier_status_t
events_new(const events_config_t *config, events_t **events_p,
           dossier_error_t *err) {
    if (config->feed == NULL || strncmp(config->feed, "tcp://", 6) != 0 ||
        config->buffer == 0 || config->max_clients == 0 ||
        config->keepalive_s == 0 ||
        (config->server_key != NULL &&
         (config->public_key == NULL || config->secret_key == NULL))) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "events: the feed must be a tcp:// endpoint, "
                                 "with a buffer, a client limit and a "
                                 "keep-alive above 0");
    }
    events_t *events = calloc(1, sizeof *events);
    if (events == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    pthread_mutex_init(&events->lock, NULL);
    pthread_cond_init(&events->changed, NULL);
    events->config = *config;
    events->feed = s_dup(config->feed);
    events->config.feed = events->feed;
    events->config.server_key = s_dup(config->server_key);
    events->config.public_key = s_dup(config->public_key);
    events->config.secret_key = s_dup(config->secret_key);
    events->ring = calloc(config->buffer, sizeof *events->ring);
    s_new_run(events->run);
    events->zmq_ctx = zmq_ctx_new();
    if (events->feed == NULL || events->ring == NULL ||
        events->zmq_ctx == NULL ||
        (config->server_key != NULL && events->config.secret_key == NULL)) {
        events_destroy(&events);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    if (pthread_create(&events->thread, NULL, s_relay, events) != 0) {
        events_destroy(&events);
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "events: cannot start the relay thread");
    }
    events->thread_started = true;
    *events_p = events;
    return DOSSIER_OK;
}

void
events_stop(events_t *events) {
    if (events == NULL) {
        return;
    }
    pthread_mutex_lock(&events->lock);
    events->stopping = true;
    pthread_cond_broadcast(&events->changed);
    pthread_mutex_unlock(&events->lock);
}

void
events_destroy(events_t **events_p) {
    if (events_p == NULL || *events_p == NULL) {
        return;
    }
    events_t *events = *events_p;
    events_stop(events);
    if (events->zmq_ctx != NULL) {
        zmq_ctx_shutdown(events->zmq_ctx); /* wakes the relay: ETERM */
    }
    if (events->thread_started) {
        pthread_join(events->thread, NULL);
    }
    if (events->zmq_ctx != NULL) {
        zmq_ctx_term(events->zmq_ctx);
    }
    for (unsigned i = 0; events->ring != NULL && i < events->config.buffer;
         i++) {
        free(events->ring[i]);
    }
    free(events->ring);
    free(events->feed);
    free((char *)events->config.server_key);
    free((char *)events->config.public_key);
    if (events->config.secret_key != NULL) {
        explicit_bzero((char *)events->config.secret_key,
                       strlen(events->config.secret_key));
        free((char *)events->config.secret_key);
    }
    pthread_cond_destroy(&events->changed);
    pthread_mutex_destroy(&events->lock);
    free(events);
    *events_p = NULL;
}

/* ---- Streams ---- */

/* Whether the browser has gone: a stream's client sends nothing after
   its request, so a hang-up (or end of file) on its socket means it
   left. Seen here within a second, the stream's place is free for
   another without waiting for the next write to fail. */
static bool
s_client_gone(int fd) {
    if (fd < 0) {
        return false;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) {
        return false;
    }
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
        return true;
    }
    char byte;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0; /* EOF */
}

/* The next text for stream, waiting at most keepalive_s: an event, a gap
   notice, a keep-alive comment, or NULL once the relay stops, the
   client left, or out of memory. Called with the lock held; waits in
   slices of a second to look at the client's socket. */
static char *
s_next_text(s_stream_t *stream) {
    events_t *events = stream->events;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    time_t keepalive_at = now.tv_sec + events->config.keepalive_s;
    while (!events->stopping && !stream->unknown_gap &&
           stream->next == events->count) {
        struct timespec slice = now;
        slice.tv_sec += 1;
        if (pthread_cond_timedwait(&events->changed, &events->lock, &slice) ==
            0) {
            continue;
        }
        if (s_client_gone(stream->fd)) {
            return NULL;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        if (!events->stopping && now.tv_sec >= keepalive_at) {
            return strdup(": keep-alive\n\n");
        }
    }
    if (events->stopping) {
        return NULL;
    }
    if (stream->unknown_gap) {
        stream->unknown_gap = false;
        return strdup("event: gap\ndata: {\"missed\":\"unknown\"}\n\n");
    }
    unsigned long long oldest = events->count > events->config.buffer
                                    ? events->count - events->config.buffer
                                    : 0;
    if (stream->next < oldest) {
        char text[96];
        snprintf(text, sizeof text,
                 "event: gap\ndata: {\"missed\":\"%llu\"}\n\n",
                 oldest - stream->next);
        stream->next = oldest;
        return strdup(text);
    }
    const char *event = events->ring[stream->next % events->config.buffer];
    stream->next++;
    return strdup(event);
}

static ssize_t
s_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    s_stream_t *stream = cls;
    if (stream->pending == NULL) {
        pthread_mutex_lock(&stream->events->lock);
        stream->pending = s_next_text(stream);
        pthread_mutex_unlock(&stream->events->lock);
        stream->offset = 0;
        if (stream->pending == NULL) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
    }
    size_t left = strlen(stream->pending + stream->offset);
    size_t n = left < max ? left : max;
    memcpy(buf, stream->pending + stream->offset, n);
    stream->offset += n;
    if (n == left) {
        free(stream->pending);
        stream->pending = NULL;
    }
    return (ssize_t)n;
}

static void
s_stream_free(void *cls) {
    s_stream_t *stream = cls;
    pthread_mutex_lock(&stream->events->lock);
    stream->events->clients--;
    pthread_mutex_unlock(&stream->events->lock);
    free(stream->pending);
    free(stream);
}

static struct MHD_Response *
s_refuse(const char *text, int *status) {
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (response != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8");
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "10");
        *status = 503;
    }
    return response;
}

/* Where a stream whose client sent last_event_id (or NULL) starts:
   after that event when it is one of this run's, else at the next event.
   An id of another run (the gateway restarted since) or none of ours
   gets a gap of unknown size first: the client cannot know what it
   missed, so it must reread what it shows. Called with the lock held. */
static void
s_resume(events_t *events, s_stream_t *stream, const char *last_event_id) {
    if (last_event_id == NULL || last_event_id[0] == '\0') {
        return;
    }
    size_t run_len = strlen(events->run);
    if (strncmp(last_event_id, events->run, run_len) == 0 &&
        last_event_id[run_len] == '-' && last_event_id[run_len + 1] >= '0' &&
        last_event_id[run_len + 1] <= '9') {
        char *end = NULL;
        unsigned long long last =
            strtoull(last_event_id + run_len + 1, &end, 10);
        if (*end == '\0' && last < events->count) {
            /* Resume after it; s_next_text reports what the ring lost. */
            stream->next = last + 1;
            return;
        }
    }
    stream->unknown_gap = true;
}

struct MHD_Response *
events_respond(events_t *events, int fd, const char *last_event_id,
               int *status) {
    s_stream_t *stream = calloc(1, sizeof *stream);
    if (stream == NULL) {
        return NULL;
    }
    stream->events = events;
    stream->fd = fd;
    pthread_mutex_lock(&events->lock);
    bool full =
        events->stopping || events->clients >= events->config.max_clients;
    if (!full) {
        events->clients++;
        stream->next = events->count;
        s_resume(events, stream, last_event_id);
    }
    pthread_mutex_unlock(&events->lock);
    if (full) {
        free(stream);
        return s_refuse("too many event streams are open; try again later\n",
                        status);
    }
    /* The first bytes go out at once, so the browser sees the stream
       open before any event. */
    stream->pending = strdup(": connected\n\n");
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 1024, s_read, stream, s_stream_free);
    if (response == NULL) {
        s_stream_free(stream);
        return NULL;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "no-store");
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
    *status = 200;
    return response;
}

unsigned
events_clients(events_t *events) {
    pthread_mutex_lock(&events->lock);
    unsigned n = events->clients;
    pthread_mutex_unlock(&events->lock);
    return n;
}

unsigned long long
events_relayed(events_t *events) {
    pthread_mutex_lock(&events->lock);
    unsigned long long n = events->count;
    pthread_mutex_unlock(&events->lock);
    return n;
}
