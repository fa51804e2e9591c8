/*  loop.c: the socket loop. See loop.h.

    Wiring (all inproc:// sockets are PAIRs bound here, one per thread):

        clients --ROUTER--> loop --PAIR "inproc://dossierd-worker-N"--> worker N
                                 --PAIR "inproc://dossierd-writer"----> writer

    A job travels as a pointer: the loop sends it to a thread and gets it
    back on the same PAIR. A worker gets a job only when idle; other
    worker jobs wait in the loop's FIFO. A worker stage may hand its job
    on to the writer (ImportText after parsing): the loop forwards it.

    Shutdown is the same path in reverse: after the drain, each worker is
    sent NULL and answers NULL once its job is done; then the writer. */
#include <czmq.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/methods.h"
#include "api/request.h"
#include "dossier/v1/rpc.pb-c.h"
#include "exec/workers.h"
#include "exec/writer.h"
#include "log.h"
#include "net/auth.h"
#include "net/conns.h"
#include "net/feed.h"
#include "net/loop.h"
#include "net/refusals.h"
#include "text.h"
#include "api/stats.h"

#define S_WRITER_ENDPOINT "inproc://dossierd-writer"
#define S_FRONT_BURST 256 /* front messages read per poll round */
#define S_POLL_MS 100     /* how late a missed signal may be seen */
/* Idle this long after work, the heap's free memory goes back to the
   system: an import's buffers (tens to hundreds of MiB across the
   threads' malloc arenas) would otherwise stay resident for good. */
#define S_IDLE_TRIM_MS 1000
#define S_LINGER_MS 1000 /* replies still queued at close */
#define S_NO_METHOD ((size_t)-1)

struct loop_t {
    const config_t *config;
    handler_env_t env;     /* the inline handlers' */
    handler_users_t users; /* their view of auth (ReloadUsers, WhoAmI) */
    stats_t *stats;
    auth_t *auth; /* borrowed */
    void *context;
    void *zap;      /* the ZAP handler's REP (CURVE only), before any bind */
    conns_t *conns; /* the front's connection bound, or NULL: none */
    unsigned long revocations; /* auth_revocations the feed has seen */
    void *front;
    char endpoint[256];

    size_t n_workers;
    void **worker_sockets;
    worker_t **workers;
    bool *worker_busy;
    bool *worker_running;
    void *writer_socket;
    writer_t *writer;
    bool writer_running;
    bool writer_stopping; /* its stop signal is sent: no more jobs */
    size_t notes;         /* audit notes of refused calls at the writer */
    refusals_t *refusals; /* refused calls per peer, for notes */
    feed_t *feed;         /* the change feed, or NULL; used by the writer */

    job_t *queue_head; /* jobs waiting for an idle worker */
    job_t *queue_tail;
    size_t in_flight; /* jobs queued or on a thread */
    int64_t busy_ms;  /* when a job was last seen in flight */
    bool trimmed;     /* the heap was trimmed since */
    zhashx_t *peers;  /* hex identity -> s_peer_t */
    bool draining;
    uint64_t replies;
    int64_t warn_window; /* second of the malformed-message warnings */
    unsigned warned;     /* warnings logged in that second */
    unsigned suppressed; /* and not logged */
};

#define S_WARNINGS_PER_SECOND 10

/* ---- Replies: every Response leaves through s_send_response ---- */

static void
s_send_response(loop_t *self, const uint8_t *peer, size_t peer_size,
                uint64_t id, size_t method, dossier_status_t code,
                const char *message, const uint8_t *payload,
                size_t payload_size, uint64_t current_version) {
    Dossier__V1__Response response = DOSSIER__V1__RESPONSE__INIT;
    response.id = id;
    response.code = (int32_t)code;
    response.current_version = current_version;
    response.message = (char *)(message ? message : "");
    response.payload.data = (uint8_t *)payload;
    response.payload.len = payload ? payload_size : 0;
    size_t size = dossier__v1__response__get_packed_size(&response);
    zmq_msg_t body;
    if (zmq_msg_init_size(&body, size) != 0) {
        log_error("out of memory for a %zu-byte reply; dropped", size);
        return;
    }
    dossier__v1__response__pack(&response, zmq_msg_data(&body));
    stats_count(self->stats, method == S_NO_METHOD ? methods_count() : method,
                (int)code);
    self->replies++;
    /* ROUTER_MANDATORY: a vanished peer is EHOSTUNREACH, a full one
       EAGAIN; neither may block the loop. */
    if (zmq_send(self->front, peer, peer_size, ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(self->front, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_msg_send(&body, self->front, ZMQ_DONTWAIT) < 0) {
        log_debug("reply to request %llu dropped: %s", (unsigned long long)id,
                  zmq_strerror(errno));
        zmq_msg_close(&body);
    }
}

/*  The one path for every error reply (s_reply_error, and
    s_reply_error_version for an ABORTED naming the current version). */
static void s_reply_verror(loop_t *self, const uint8_t *peer, size_t peer_size,
                           uint64_t id, size_t method, dossier_status_t code,
                           uint64_t current_version, const char *fmt,
                           va_list args) __attribute__((format(printf, 8, 0)));
static void s_reply_error(loop_t *self, const uint8_t *peer, size_t peer_size,
                          uint64_t id, size_t method, dossier_status_t code,
                          const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void s_reply_error_version(loop_t *self, const job_t *job,
                                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

char *
loop_error_message(char *out, size_t size, const char *message) {
    return text_utf8_copy(out, size, message);
}

static void
s_reply_verror(loop_t *self, const uint8_t *peer, size_t peer_size, uint64_t id,
               size_t method, dossier_status_t code, uint64_t current_version,
               const char *fmt, va_list args) {
    char message[512];
    vsnprintf(message, sizeof message, fmt, args);
    loop_error_message(message, sizeof message, message);
    if (code == DOSSIER_INTERNAL || code == DOSSIER_DATA_LOSS ||
        code == DOSSIER_UNKNOWN) {
        log_error("request %llu (%s): %s: %s", (unsigned long long)id,
                  method == S_NO_METHOD ? "no method"
                                        : methods_at(method)->full_name,
                  dossier_strerror(code), message);
    } else {
        log_debug("request %llu: %s: %s", (unsigned long long)id,
                  dossier_strerror(code), message);
    }
    s_send_response(self, peer, peer_size, id, method, code, message, NULL, 0,
                    current_version);
}

static void
s_reply_error(loop_t *self, const uint8_t *peer, size_t peer_size, uint64_t id,
              size_t method, dossier_status_t code, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    s_reply_verror(self, peer, peer_size, id, method, code, 0, fmt, args);
    va_end(args);
}

/*  A job's error reply, with Response.current_version when ABORTED. */
static void
s_reply_error_version(loop_t *self, const job_t *job, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    s_reply_verror(self, job->peer, job->peer_size, job->request_id,
                   job->method->index, job->code,
                   job->code == DOSSIER_ABORTED ? job->current_version : 0, fmt,
                   args);
    va_end(args);
}

static void
s_reply_job(loop_t *self, job_t *job) {
    request_redact_paths(self->config, job);
    if (job->code == DOSSIER_OK) {
        s_send_response(self, job->peer, job->peer_size, job->request_id,
                        job->method->index, DOSSIER_OK, NULL, job->payload,
                        job->payload_size, 0);
    } else {
        s_reply_error_version(self, job, "%s", job->message);
    }
}

/* ---- Requests in flight, per peer ---- */

/*  What the loop knows of one connection. Its writes commit in the order
    it sent them: a write that parses on a worker first (ImportText,
    ImportBatch) holds back the connection's later writes until it is on
    its way to the writer, whose queue is first in, first out. So a
    client may pipeline import batches and the last file still wins. */
typedef struct {
    size_t in_flight; /* jobs accepted and not yet answered */
    bool gated;       /* one of its writes is on a worker stage */
    job_t *held_head; /* its writes waiting behind it, in arrival order */
    job_t *held_tail;
} s_peer_t;

static void
s_peer_free(void **item_p) {
    s_peer_t *peer = *item_p;
    while (peer && peer->held_head) {
        job_t *job = peer->held_head;
        peer->held_head = job->next;
        job_destroy(&job);
    }
    free(peer);
    *item_p = NULL;
}

static void
s_peer_key(const job_t *job, char *key) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < job->peer_size; i++) {
        key[2 * i] = hex[job->peer[i] >> 4];
        key[2 * i + 1] = hex[job->peer[i] & 15];
    }
    key[2 * job->peer_size] = '\0';
}

/*  The peer of job, or NULL when it has nothing in flight. */
static s_peer_t *
s_peer_find(loop_t *self, const job_t *job) {
    char key[2 * sizeof job->peer + 1];
    s_peer_key(job, key);
    return zhashx_lookup(self->peers, key);
}

static size_t
s_peer_count(loop_t *self, const job_t *job) {
    s_peer_t *peer = s_peer_find(self, job);
    return peer ? peer->in_flight : 0;
}

/*  Counts a job in (+1) or out (-1) of its peer; the peer is forgotten
    with its last job. Returns the peer, NULL when out of memory or
    forgotten. */
static s_peer_t *
s_peer_adjust(loop_t *self, const job_t *job, int delta) {
    char key[2 * sizeof job->peer + 1];
    s_peer_key(job, key);
    s_peer_t *peer = zhashx_lookup(self->peers, key);
    if (delta > 0) {
        if (!peer) {
            peer = calloc(1, sizeof *peer);
            if (!peer || zhashx_insert(self->peers, key, peer) != 0) {
                free(peer);
                return NULL;
            }
        }
        peer->in_flight++;
        return peer;
    }
    if (peer && peer->in_flight > 1) {
        peer->in_flight--;
        return peer;
    }
    if (peer) {
        zhashx_delete(self->peers, key);
    }
    return NULL;
}

/*  A job off a thread for good: reply and forget it. */
static void
s_job_done(loop_t *self, job_t *job) {
    s_reply_job(self, job);
    s_peer_adjust(self, job, -1);
    self->in_flight--;
    job_destroy(&job);
}

/* ---- Handing jobs to threads ---- */

static bool
s_send_job(void *socket, job_t *job) {
    while (job_send(socket, job) != 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

/*  Fails job: it could not be handed to what (errno says why). */
static void
s_handoff_failed(job_t *job, const char *what) {
    dossier_error_t err = {0};
    dossier_error_set(&err, DOSSIER_INTERNAL,
                      "could not hand the request "
                      "to the %s: %s",
                      what, zmq_strerror(errno));
    job_finish(job, DOSSIER_INTERNAL, &err);
}

static void
s_to_writer(loop_t *self, job_t *job) {
    if (self->writer_stopping || !s_send_job(self->writer_socket, job)) {
        s_handoff_failed(job, "writer");
        s_job_done(self, job);
    }
}

/*  Jobs first in, first out, linked by job->next. */
static void
s_jobs_push(job_t **head, job_t **tail, job_t *job) {
    job->next = NULL;
    if (*tail) {
        (*tail)->next = job;
    } else {
        *head = job;
    }
    *tail = job;
}

static job_t *
s_jobs_pop(job_t **head, job_t **tail) {
    job_t *job = *head;
    if (job) {
        *head = job->next;
        if (!*head) {
            *tail = NULL;
        }
        job->next = NULL;
    }
    return job;
}

static void s_after_worker(loop_t *self, job_t *job);

/*  Gives queued jobs to idle workers. */
static void
s_dispatch_queue(loop_t *self) {
    for (size_t i = 0; i < self->n_workers && self->queue_head; i++) {
        if (self->worker_busy[i] || !self->worker_running[i]) {
            continue;
        }
        job_t *job = s_jobs_pop(&self->queue_head, &self->queue_tail);
        if (s_send_job(self->worker_sockets[i], job)) {
            self->worker_busy[i] = true;
        } else {
            s_handoff_failed(job, "worker");
            s_after_worker(self, job);
        }
    }
}

/*  Tells the writer that a call was refused, for the audit log (the
    loop never touches the store). Bounded like the queue: past
    max_queue notes waiting, a note is dropped with a warning. */
static void
s_audit_note(loop_t *self, const job_t *job, dossier_status_t code,
             const char *message) {
    if (!self->writer_running || self->writer_stopping) {
        log_debug("audit note dropped (the writer is stopping): %s", message);
        return;
    }
    if (self->notes >= self->config->max_queue) {
        log_warn("audit note dropped (%zu waiting): %s", self->notes, message);
        return;
    }
    job_t *note = audit_denied_note(job, code, message);
    if (!note || !s_send_job(self->writer_socket, note)) {
        log_warn("audit note dropped: %s", message);
        job_destroy(&note);
        return;
    }
    self->notes++;
}

/*  The refusals module's emit hook: a note for the audit log. */
static void
s_refusal_note(void *arg, const job_t *job, dossier_status_t code,
               const char *message) {
    s_audit_note(arg, job, code, message);
}

/*  A refused call's note for the audit log, within its peer's limit
    (net/refusals.h), else counted for a summary note. */
static void
s_audit_refused(loop_t *self, const job_t *job, dossier_status_t code,
                const char *message) {
    char key[2 * sizeof job->peer + 1];
    s_peer_key(job, key);
    if (refusals_admit(self->refusals, key, job, code, job_now_ms())) {
        s_audit_note(self, job, code, message);
    }
}

static void
s_enqueue(loop_t *self, job_t *job) {
    s_jobs_push(&self->queue_head, &self->queue_tail, job);
    s_dispatch_queue(self);
}

/*  Sends an accepted job on its way: to the writer, or to a worker (a
    write that parses there first gates its peer's later writes). */
static void
s_route(loop_t *self, s_peer_t *peer, job_t *job) {
    if (job->method->runs == RUNS_WRITER) {
        s_to_writer(self, job);
        return;
    }
    if (job->method->write) {
        peer->gated = true;
    }
    s_enqueue(self, job);
}

/*  Routes the peer's held writes, in order, until one gates it again. */
static void
s_peer_release(loop_t *self, s_peer_t *peer) {
    while (peer->held_head && !peer->gated) {
        job_t *job = s_jobs_pop(&peer->held_head, &peer->held_tail);
        /* A job that fails on its way out may take the peer with it when
           it was the last one held. */
        bool more = peer->held_head != NULL;
        s_route(self, peer, job);
        if (!more) {
            break;
        }
    }
}

/*  A job back from its worker stage, or failed on its way there: on to
    the writer or answered. A write leaving its worker stage opens its
    peer's gate, and the writes held behind it follow it, after it (while
    some are held, the peer outlives this job). */
static void
s_after_worker(loop_t *self, job_t *job) {
    s_peer_t *gate = NULL;
    if (job->method->write) {
        gate = s_peer_find(self, job);
        if (gate) {
            gate->gated = false;
            if (!gate->held_head) {
                gate = NULL;
            }
        }
    }
    if (job->code == DOSSIER_OK && job->to_writer) {
        job->to_writer = false;
        s_to_writer(self, job);
    } else {
        if (job->method->write && job->code != DOSSIER_OK) {
            /* A write that failed before the writer (an import that did
               not parse) is audited like every write. */
            s_audit_note(self, job, job->code, job->message);
        }
        s_job_done(self, job);
    }
    if (gate) {
        s_peer_release(self, gate);
    }
}

/* ---- One request ---- */

/*  Identity of the caller, from what ZAP attached to body (auth.h):
    never from the Request. */
static void
s_caller(loop_t *self, zmq_msg_t *body, job_t *job) {
    auth_identity_t who;
    auth_identify(self->auth, body, &who);
    /* Valid UTF-8 whatever the certificate says: the name is stored in
       records, audit entries and events, and returned by WhoAmI, all
       protobuf strings. */
    text_utf8_copy(job->user, sizeof job->user, who.name);
    snprintf(job->user_key, sizeof job->user_key, "%s", who.key);
    job->role = who.role;
    job->tokens_honoured = who.tokens;
}

/*  The debug line of one request: its method, caller (and the gateway
    that carried its API token) and the client's name (metadata
    "client", when it says). Never another metadata value: the
    "authorization" one is a secret. */
static void
s_log_request(const Dossier__V1__Request *request, const job_t *job) {
    const char *client = "";
    for (size_t i = 0; i < request->n_metadata; i++) {
        if (request->metadata[i]->key && request->metadata[i]->value &&
            strcmp(request->metadata[i]->key, "client") == 0) {
            client = request->metadata[i]->value;
        }
    }
    log_debug("request %llu %s from %s%s%s%s%s",
              (unsigned long long)request->id, job->method->full_name,
              job->user, *job->via ? " via gateway " : "", job->via,
              *client ? " client " : "", client);
}

static void
s_handle_request(loop_t *self, const uint8_t *peer, size_t peer_size,
                 zmq_msg_t *body) {
    Dossier__V1__Request *request = dossier__v1__request__unpack(
        NULL, zmq_msg_size(body), zmq_msg_data(body));
    if (!request) {
        s_reply_error(self, peer, peer_size, 0, S_NO_METHOD,
                      DOSSIER_INVALID_ARGUMENT,
                      "the body frame (%zu bytes) is not a serialized "
                      "dossier.v1.Request",
                      zmq_msg_size(body));
        return;
    }
    uint64_t id = request->id;
    job_t *job = job_new();
    if (!job) {
        s_reply_error(self, peer, peer_size, id, S_NO_METHOD,
                      DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup_request;
    }
    memcpy(job->peer, peer, peer_size);
    job->peer_size = peer_size;
    s_caller(self, body, job);
    /* Every check of the request is api/request.c's. */
    dossier_error_t why = {0};
    dossier_status_t rc =
        request_accept(self->env.store, request, self->draining, job, &why);
    const method_t *method = job->method;
    if (method && log_enabled(LOG_LEVEL_DEBUG)) {
        s_log_request(request, job);
    }
    if (rc != DOSSIER_OK) {
        s_reply_error(self, peer, peer_size, id,
                      method ? method->index : S_NO_METHOD, rc, "%s",
                      why.message);
        /* Refused calls (a token refused too) and refused writes are
           audited (a refused read
           by a caller allowed to make it is not, nor a write turned away
           because the server is shutting down: nothing was tried). */
        if (rc == DOSSIER_PERMISSION_DENIED || rc == DOSSIER_UNAUTHENTICATED ||
            (method && method->write && rc != DOSSIER_UNAVAILABLE)) {
            s_audit_refused(self, job, rc, why.message);
        }
        goto cleanup_job;
    }
    dossier__v1__request__free_unpacked(request, NULL);
    request = NULL;

    /* A STRONG Get on a cluster node waits for the leader: on a worker,
       never here. Other inline methods answer from this node alone. */
    bool strong_get =
        job->strong && self->env.cluster && strcmp(method->name, "Get") == 0;
    if (method->runs == RUNS_INLINE && !strong_get) {
        job->strong = false;
        self->env.shutting_down = self->draining;
        worker_run_stage(&self->env, job);
        s_reply_job(self, job);
        job_destroy(&job);
        return;
    }
    if (self->in_flight >= self->config->max_queue) {
        s_reply_error(self, peer, peer_size, id, method->index,
                      DOSSIER_RESOURCE_EXHAUSTED,
                      "the server has %zu requests waiting (max_queue); "
                      "retry later",
                      self->in_flight);
        goto cleanup_job;
    }
    if (s_peer_count(self, job) >= self->config->max_in_flight) {
        s_reply_error(self, peer, peer_size, id, method->index,
                      DOSSIER_RESOURCE_EXHAUSTED,
                      "this connection already has %u requests in flight "
                      "(max_in_flight); wait for replies before sending more",
                      self->config->max_in_flight);
        goto cleanup_job;
    }
    s_peer_t *conn = s_peer_adjust(self, job, +1);
    if (!conn) {
        s_reply_error(self, peer, peer_size, id, method->index,
                      DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup_job;
    }
    self->in_flight++;
    if (method->write && (conn->gated || conn->held_head)) {
        s_jobs_push(&conn->held_head, &conn->held_tail, job);
    } else {
        s_route(self, conn, job);
    }
    return;

cleanup_job:
    job_destroy(&job);
cleanup_request:
    dossier__v1__request__free_unpacked(request, NULL);
}

/*  Logs a malformed message, at most S_WARNINGS_PER_SECOND a second so
    that a flood of garbage cannot flood the log; says how many were not
    logged once the flood is over. */
static void
s_warn_malformed(loop_t *self, zmq_msg_t *frame, const char *problem) {
    int64_t second = job_now_ms() / 1000;
    if (second != self->warn_window) {
        if (self->suppressed) {
            log_warn("%u more malformed messages were not logged",
                     self->suppressed);
        }
        self->warn_window = second;
        self->warned = 0;
        self->suppressed = 0;
    }
    if (self->warned >= S_WARNINGS_PER_SECOND) {
        self->suppressed++;
        return;
    }
    self->warned++;
    const char *address = zmq_msg_gets(frame, "Peer-Address");
    log_warn("malformed message from %s: %s", address ? address : "a client",
             problem);
}

/*  Says what is wrong with a frame set that is not [id][empty][body]. */
static void
s_frames_problem(size_t total, zmq_msg_t *frames, char *text, size_t size) {
    if (total == 2 && zmq_msg_size(&frames[1]) == 0) {
        snprintf(text, size,
                 "the message has an empty delimiter but no "
                 "body frame; send a serialized "
                 "dossier.v1.Request after it");
    } else if (total == 2) {
        snprintf(text, size,
                 "the message has no empty delimiter frame; a DEALER client "
                 "sends an empty frame, then the Request");
    } else if (total == 3 && zmq_msg_size(&frames[1]) != 0) {
        snprintf(text, size,
                 "the frame before the body must be empty (the delimiter); "
                 "it has %zu bytes",
                 zmq_msg_size(&frames[1]));
    } else if (total == 3) {
        snprintf(text, size,
                 "the body frame is empty; send a serialized "
                 "dossier.v1.Request");
    } else {
        snprintf(text, size,
                 "expected [empty][Request], got %zu frames; send one "
                 "Request per message",
                 total - 1);
    }
}

/*  Reads up to S_FRONT_BURST messages from the ROUTER. */
static void
s_front_read(loop_t *self) {
    for (int burst = 0; burst < S_FRONT_BURST; burst++) {
        zmq_msg_t frames[4];
        size_t kept = 0;
        size_t total = 0;
        zmq_msg_init(&frames[0]);
        if (zmq_msg_recv(&frames[0], self->front, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frames[0]);
            return;
        }
        kept = total = 1;
        bool more = zmq_msg_more(&frames[0]);
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, self->front, 0) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            total++;
            if (kept < 4) {
                frames[kept++] = part;
            } else {
                zmq_msg_close(&part);
            }
        }
        size_t peer_size = zmq_msg_size(&frames[0]);
        const uint8_t *peer = zmq_msg_data(&frames[0]);
        if (peer_size == 0 || peer_size > sizeof((job_t *)0)->peer) {
            log_warn("dropped a %zu-frame message with an unusable routing "
                     "identity (%zu bytes)",
                     total, peer_size);
        } else if (total != 3 || zmq_msg_size(&frames[1]) != 0 ||
                   zmq_msg_size(&frames[2]) == 0) {
            char problem[256];
            s_frames_problem(total, frames, problem, sizeof problem);
            s_warn_malformed(self, &frames[kept - 1], problem);
            s_reply_error(self, peer, peer_size, 0, S_NO_METHOD,
                          DOSSIER_INVALID_ARGUMENT, "%s", problem);
        } else {
            s_handle_request(self, peer, peer_size, &frames[2]);
        }
        for (size_t i = 0; i < kept; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
}

/*  Takes back what a worker (index) or the writer (index n_workers)
    finished. */
static void
s_thread_read(loop_t *self, size_t index) {
    bool is_writer = index == self->n_workers;
    void *socket =
        is_writer ? self->writer_socket : self->worker_sockets[index];
    job_t *job;
    while (job_recv(socket, &job, ZMQ_DONTWAIT) == 0) {
        if (!job) {
            if (is_writer) {
                self->writer_running = false;
            } else {
                self->worker_running[index] = false;
                self->worker_busy[index] = false;
            }
            continue;
        }
        if (!is_writer) {
            self->worker_busy[index] = false;
        }
        if (is_writer && job->audit_only) {
            self->notes--; /* recorded (or failed with its batch) */
            job_destroy(&job);
            continue;
        }
        if (is_writer) {
            s_job_done(self, job);
        } else {
            s_after_worker(self, job);
        }
    }
    if (!is_writer) {
        s_dispatch_queue(self);
    }
}

/*  One poll round over the front and every thread socket. */
static dossier_status_t
s_poll(loop_t *self, zmq_pollitem_t *items, size_t n_items, long timeout,
       dossier_error_t *err) {
    int rc = zmq_poll(items, (int)n_items, timeout);
    if (rc < 0) {
        if (errno == EINTR) {
            return DOSSIER_OK;
        }
        return dossier_error_set(err, DOSSIER_INTERNAL, "zmq_poll: %s",
                                 zmq_strerror(errno));
    }
    /* Connections past the bound go first, before they cost more; then
       handshakes waiting for ZAP: their clients wait too. */
    size_t extra = self->n_workers + 2;
    if (self->conns && (items[extra].revents & ZMQ_POLLIN)) {
        conns_read(self->conns);
    }
    extra += self->conns != NULL;
    if (self->zap && (items[extra].revents & ZMQ_POLLIN)) {
        auth_zap_handle(self->auth, self->zap);
    }
    for (size_t i = 1; i <= self->n_workers + 1; i++) {
        if (items[i].revents & ZMQ_POLLIN) {
            s_thread_read(self, i - 1);
        }
    }
    if (items[0].revents & ZMQ_POLLIN) {
        s_front_read(self);
    }
    return DOSSIER_OK;
}

static bool
s_any_worker_running(const loop_t *self) {
    for (size_t i = 0; i < self->n_workers; i++) {
        if (self->worker_running[i]) {
            return true;
        }
    }
    return false;
}

/*  Stops the workers, then the writer (workers may still hand it jobs),
    serving replies meanwhile, and joins them. */
static dossier_status_t
s_stop_threads(loop_t *self, zmq_pollitem_t *items, size_t n_items,
               dossier_error_t *err) {
    /* Jobs that never reached a worker will not now, nor held writes. */
    job_t *held = NULL;
    for (s_peer_t *peer = zhashx_first(self->peers); peer;
         peer = zhashx_next(self->peers)) {
        if (peer->held_tail) {
            peer->held_tail->next = held;
            held = peer->held_head;
            peer->held_head = peer->held_tail = NULL;
        }
    }
    if (held) {
        job_t *tail = held;
        while (tail->next) {
            tail = tail->next;
        }
        tail->next = self->queue_head;
        self->queue_head = held;
    }
    while (self->queue_head) {
        job_t *job = self->queue_head;
        self->queue_head = job->next;
        dossier_error_t stop_err = {0};
        dossier_error_set(&stop_err, DOSSIER_UNAVAILABLE,
                          "the server shut down before this request "
                          "started; retry after it restarts");
        job_finish(job, DOSSIER_UNAVAILABLE, &stop_err);
        s_job_done(self, job);
    }
    self->queue_tail = NULL;
    for (size_t i = 0; i < self->n_workers; i++) {
        if (self->worker_running[i]) {
            s_send_job(self->worker_sockets[i], NULL);
        }
    }
    while (s_any_worker_running(self)) {
        dossier_status_t rc = s_poll(self, items, n_items, S_POLL_MS, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    /* The counts of refused calls not recorded, before the writer goes. */
    refusals_sweep(self->refusals, job_now_ms(), true);
    if (self->writer_running) {
        s_send_job(self->writer_socket, NULL);
        /* Anything sent after the stop signal would never come back. */
        self->writer_stopping = true;
    }
    while (self->writer_running) {
        dossier_status_t rc = s_poll(self, items, n_items, S_POLL_MS, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < self->n_workers; i++) {
        worker_destroy(&self->workers[i]);
    }
    writer_destroy(&self->writer);
    return DOSSIER_OK;
}

static zmq_pollitem_t *
s_poll_items(loop_t *self, size_t *n_items) {
    /* [front][worker sockets...][writer], then [connection monitor] with
       max_connections, then [ZAP] with CURVE. */
    *n_items =
        self->n_workers + 2 + (self->conns != NULL) + (self->zap != NULL);
    zmq_pollitem_t *items = calloc(*n_items, sizeof *items);
    if (!items) {
        return NULL;
    }
    items[0].socket = self->front;
    for (size_t i = 0; i < self->n_workers; i++) {
        items[i + 1].socket = self->worker_sockets[i];
    }
    items[self->n_workers + 1].socket = self->writer_socket;
    size_t extra = self->n_workers + 2;
    if (self->conns) {
        items[extra++].socket = conns_socket(self->conns);
    }
    if (self->zap) {
        items[extra].socket = self->zap;
    }
    for (size_t i = 0; i < *n_items; i++) {
        items[i].events = ZMQ_POLLIN;
    }
    return items;
}

/*  After a reload: when it took keys away, the change feed drops its
    subscribers so that each authenticates again (net/feed.h). */
static void
s_check_revoked(loop_t *self) {
    unsigned long revocations = auth_revocations(self->auth);
    if (revocations != self->revocations) {
        self->revocations = revocations;
        if (self->feed) {
            feed_revoke(self->feed);
        }
    }
}

/*  Returns the heap's free memory to the system once, when no job has
    been in flight for S_IDLE_TRIM_MS after one was. */
static void
s_trim_when_idle(loop_t *self) {
    int64_t now = job_now_ms();
    if (self->in_flight > 0) {
        self->busy_ms = now;
        self->trimmed = false;
        return;
    }
    if (self->trimmed || now - self->busy_ms < S_IDLE_TRIM_MS) {
        return;
    }
    self->trimmed = true;
#ifdef __GLIBC__
    malloc_trim(0); /* every arena, the worker and writer threads' too */
    log_debug("idle: free heap memory returned to the system");
#endif
}

dossier_status_t
loop_run(loop_t *self, volatile sig_atomic_t *stop, dossier_error_t *err) {
    size_t n_items;
    zmq_pollitem_t *items = s_poll_items(self, &n_items);
    if (!items) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier_status_t rc = DOSSIER_OK;
    int64_t drain_end = 0;
    while (true) {
        if (*stop && !self->draining) {
            self->draining = true;
            self->env.shutting_down = true;
            drain_end = job_now_ms() + self->config->shutdown_timeout_ms;
            log_info("stopping: no new work; waiting for %zu requests in "
                     "flight (at most %u ms)",
                     self->in_flight, self->config->shutdown_timeout_ms);
        }
        if (self->draining &&
            (self->in_flight == 0 || job_now_ms() >= drain_end)) {
            break;
        }
        rc = s_poll(self, items, n_items, S_POLL_MS, err);
        if (rc != DOSSIER_OK) {
            break;
        }
        auth_poll(self->auth);
        refusals_sweep(self->refusals, job_now_ms(), false);
        s_check_revoked(self);
        s_trim_when_idle(self);
    }
    if (self->in_flight) {
        log_warn("%zu requests still in flight after %u ms; answering those "
                 "not started with UNAVAILABLE",
                 self->in_flight, self->config->shutdown_timeout_ms);
    }
    dossier_error_t stop_err = {0};
    dossier_status_t stop_rc = s_stop_threads(self, items, n_items, &stop_err);
    if (rc == DOSSIER_OK && stop_rc != DOSSIER_OK) {
        rc = stop_rc;
        if (err) {
            *err = stop_err;
        }
    }
    free(items);
    return rc;
}

/* ---- Construction ---- */

static dossier_status_t
s_bind_front(loop_t *self, dossier_error_t *err) {
    const config_t *config = self->config;
    self->front = zmq_socket(self->context, ZMQ_ROUTER);
    if (!self->front) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "cannot create the ROUTER socket: %s",
                                 zmq_strerror(errno));
    }
    int64_t max_message = (int64_t)config->max_message_bytes;
    int sndhwm = (int)config->sndhwm;
    int rcvhwm = (int)config->rcvhwm;
    int mandatory = 1;
    int linger = S_LINGER_MS;
    int handshake = (int)config->handshake_timeout_ms;
    if (zmq_setsockopt(self->front, ZMQ_MAXMSGSIZE, &max_message,
                       sizeof max_message) != 0 ||
        zmq_setsockopt(self->front, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(self->front, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0 ||
        zmq_setsockopt(self->front, ZMQ_ROUTER_MANDATORY, &mandatory,
                       sizeof mandatory) != 0 ||
        zmq_setsockopt(self->front, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->front, ZMQ_HANDSHAKE_IVL, &handshake,
                       sizeof handshake) != 0) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "cannot set ROUTER socket options: %s",
                                 zmq_strerror(errno));
    }
    dossier_status_t rc = auth_secure(self->auth, self->front, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (config->max_connections) {
        self->conns =
            conns_new(self->context, self->front, config->max_connections, err);
        if (!self->conns) {
            return err ? err->code : DOSSIER_INTERNAL;
        }
    }
    if (zmq_bind(self->front, config->bind) != 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE, "cannot bind %s: %s",
                                 config->bind, zmq_strerror(errno));
    }
    size_t size = sizeof self->endpoint;
    if (zmq_getsockopt(self->front, ZMQ_LAST_ENDPOINT, self->endpoint, &size) !=
        0) {
        snprintf(self->endpoint, sizeof self->endpoint, "%s", config->bind);
    }
    return DOSSIER_OK;
}

/*  Binds the ZAP handler's socket (CURVE only): before any CURVE socket
    binds, since libzmq admits nobody while no handler is bound. REP, as
    libzmq sends each request with an envelope and waits for one reply. */
static dossier_status_t
s_bind_zap(loop_t *self, dossier_error_t *err) {
    if (!auth_curve(self->auth)) {
        return DOSSIER_OK;
    }
    int linger = 0;
    self->zap = zmq_socket(self->context, ZMQ_REP);
    if (!self->zap ||
        zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(self->zap, AUTH_ZAP_ENDPOINT) != 0) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "cannot bind the ZAP handler at %s: %s",
                                 AUTH_ZAP_ENDPOINT, zmq_strerror(errno));
    }
    return DOSSIER_OK;
}

static void *
s_bind_pair(loop_t *self, const char *endpoint, dossier_error_t *err) {
    void *socket = zmq_socket(self->context, ZMQ_PAIR);
    int unlimited = 0; /* bounded by max_queue, not by the pipe */
    if (!socket ||
        zmq_setsockopt(socket, ZMQ_SNDHWM, &unlimited, sizeof unlimited) ||
        zmq_setsockopt(socket, ZMQ_RCVHWM, &unlimited, sizeof unlimited) ||
        zmq_bind(socket, endpoint) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL, "cannot bind %s: %s", endpoint,
                          zmq_strerror(errno));
        if (socket) {
            zmq_close(socket);
        }
        return NULL;
    }
    return socket;
}

/*  The writer's publish hook (exec/recorder.h): the feed's socket, used
    from the writer thread only, until the writer is joined; on a cluster
    node from its Raft thread only, until set_publish clears it. */
static int
s_feed_publish(void *arg, const void *event, size_t size) {
    return feed_publish(arg, event, size);
}

/*  ReloadUsers' hook (api/handlers.h): the users table is auth's. */
static dossier_status_t
s_reload_users(void *arg, size_t *users, dossier_error_t *err) {
    loop_t *self = arg;
    dossier_status_t rc = auth_reload(self->auth, users, err);
    s_check_revoked(self);
    return rc;
}

/*  Creates the thread sockets and starts the threads (with the signals
    main handles blocked, as main blocks them before any thread starts). */
static dossier_status_t
s_start_threads(loop_t *self, dossier_error_t *err) {
    for (size_t i = 0; i < self->n_workers; i++) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "inproc://dossierd-worker-%zu", i);
        self->worker_sockets[i] = s_bind_pair(self, endpoint, err);
        if (!self->worker_sockets[i]) {
            return err ? err->code : DOSSIER_INTERNAL;
        }
        self->workers[i] = worker_new(self->context, endpoint, &self->env, err);
        if (!self->workers[i]) {
            return err ? err->code : DOSSIER_INTERNAL;
        }
        self->worker_running[i] = true;
    }
    self->writer_socket = s_bind_pair(self, S_WRITER_ENDPOINT, err);
    if (!self->writer_socket) {
        return err ? err->code : DOSSIER_INTERNAL;
    }
    /* A cluster node's writer commits nothing itself: its Raft thread
       applies every entry and publishes what it applied. */
    const handler_cluster_t *cluster = self->env.cluster;
    bool writer_publishes = self->feed && !cluster;
    if (self->feed && cluster && cluster->set_publish) {
        cluster->set_publish(cluster->arg, s_feed_publish, self->feed);
    }
    self->writer = writer_new(self->context, S_WRITER_ENDPOINT, &self->env,
                              writer_publishes ? s_feed_publish : NULL,
                              writer_publishes ? self->feed : NULL,
                              self->config->write_batch_max, err);
    if (!self->writer) {
        return err ? err->code : DOSSIER_INTERNAL;
    }
    self->writer_running = true;
    return DOSSIER_OK;
}

/*  The change feed's CURVE: the same server key and ZAP handler as the
    front socket (auth_secure), so the same users may subscribe. */
static dossier_status_t
s_feed_secure(void *arg, void *socket, dossier_error_t *err) {
    const loop_t *self = arg;
    return auth_secure(self->auth, socket, err);
}

/*  Binds the change feed when config->feed_bind is set, before the
    writer starts (it publishes on it). */
static dossier_status_t
s_start_feed(loop_t *self, dossier_error_t *err) {
    const char *bind = self->config->feed_bind;
    if (!bind || !*bind) {
        return DOSSIER_OK;
    }
    self->feed = feed_new(self->context, bind, (int)self->config->feed_sndhwm,
                          (int)self->config->handshake_timeout_ms,
                          s_feed_secure, self, err);
    if (!self->feed) {
        return err ? err->code : DOSSIER_UNAVAILABLE;
    }
    log_info("change feed: publishing committed writes at %s",
             feed_endpoint(self->feed));
    return DOSSIER_OK;
}

loop_t *
loop_new(const config_t *config, const handler_env_t *env, auth_t *auth,
         dossier_error_t *err) {
    loop_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->config = config;
    self->env = *env;
    self->env.config = config;
    self->users.reload = s_reload_users;
    self->users.reload_arg = self;
    self->users.security = auth_curve(auth) ? "curve" : "none";
    self->n_workers = config->workers ? config->workers : 1;
    self->stats = stats_new(methods_names(), methods_count());
    self->env.stats = self->stats;
    self->peers = zhashx_new();
    if (self->peers) {
        zhashx_set_destructor(self->peers, s_peer_free);
    }
    self->refusals =
        refusals_new(config->audit.refused_per_second, s_refusal_note, self);
    self->worker_sockets = calloc(self->n_workers, sizeof(void *));
    self->workers = calloc(self->n_workers, sizeof(worker_t *));
    self->worker_busy = calloc(self->n_workers, sizeof(bool));
    self->worker_running = calloc(self->n_workers, sizeof(bool));
    self->auth = auth;
    self->context = zmq_ctx_new();
    if (!self->stats || !self->peers || !self->refusals ||
        !self->worker_sockets || !self->workers || !self->worker_busy ||
        !self->worker_running || !self->context) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        loop_destroy(&self);
        return NULL;
    }
    if (s_bind_zap(self, err) != DOSSIER_OK ||
        s_bind_front(self, err) != DOSSIER_OK ||
        s_start_feed(self, err) != DOSSIER_OK ||
        s_start_threads(self, err) != DOSSIER_OK) {
        loop_destroy(&self);
        return NULL;
    }
    /* After the threads took their copies: the users table is the
       loop's. */
    self->env.users = &self->users;
    return self;
}

const char *
loop_endpoint(const loop_t *self) {
    return self->endpoint;
}

uint64_t
loop_replies(const loop_t *self) {
    return self->replies;
}

void
loop_destroy(loop_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    loop_t *self = *self_p;
    /* Threads still running (loop_run never ran or failed early): stop
       them the blocking way; nobody is waiting for replies. */
    for (size_t i = 0; self->workers && i < self->n_workers; i++) {
        if (self->workers[i]) {
            if (self->worker_running[i]) {
                s_send_job(self->worker_sockets[i], NULL);
                job_t *job = NULL;
                while (job_recv(self->worker_sockets[i], &job, 0) == 0 && job) {
                    job_destroy(&job);
                }
            }
            worker_destroy(&self->workers[i]);
        }
    }
    if (self->writer) {
        if (self->writer_running) {
            s_send_job(self->writer_socket, NULL);
            job_t *job = NULL;
            while (job_recv(self->writer_socket, &job, 0) == 0 && job) {
                job_destroy(&job);
            }
        }
        writer_destroy(&self->writer);
    }
    while (self->queue_head) {
        job_t *job = self->queue_head;
        self->queue_head = job->next;
        job_destroy(&job);
    }
    for (size_t i = 0; self->worker_sockets && i < self->n_workers; i++) {
        if (self->worker_sockets[i]) {
            zmq_close(self->worker_sockets[i]);
        }
    }
    if (self->writer_socket) {
        zmq_close(self->writer_socket);
    }
    conns_destroy(&self->conns); /* its monitor first: it watches front */
    if (self->front) {
        zmq_close(self->front);
    }
    if (self->feed && self->env.cluster && self->env.cluster->set_publish) {
        /* The Raft thread outlives the loop: it stops publishing first. */
        self->env.cluster->set_publish(self->env.cluster->arg, NULL, NULL);
    }
    feed_destroy(&self->feed); /* the writer that used it is joined */
    if (self->zap) {
        zmq_close(self->zap); /* after the sockets it answered for */
    }
    if (self->context) {
        zmq_ctx_term(self->context);
    }
    free(self->worker_sockets);
    free(self->workers);
    free(self->worker_busy);
    free(self->worker_running);
    zhashx_destroy(&self->peers);
    refusals_destroy(&self->refusals);
    stats_destroy(&self->stats);
    free(self);
    *self_p = NULL;
}
