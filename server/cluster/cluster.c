/*  cluster.c: the Raft thread, the forward thread and the writer's
    submit hook. See cluster.h.

    Who touches what: raft, the uv handles, the FSM and applied_index
    belong to the Raft thread; the ROUTER to the forward thread; the
    DEALER and seq to the writer thread (the one caller of submit).
    Everything under mu is shared: the queue of proposals for the Raft
    thread, the role and leader it last saw, the forward endpoints the
    LEADER entries announced, and the writer's one pending batch. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>
#include <zmq.h>

#include "api/methods.h"
#include "cluster/cluster.h"
#include "cluster/entry.h"
#include "cluster/peers.h"
#include "exec/commit.h"
#include "exec/workers.h"
#include "fsops.h"
#include "log.h"

/* How long a submitted batch waits to be applied here before its
   writes are answered UNAVAILABLE (outcome unknown): an election takes
   one to two election timeouts. */
#define S_WAIT_ELECTIONS 3
/* The Raft thread looks at its role this often (ms). */
#define S_TICK_MS 20
/* Forward endpoints remembered (one per node that was ever leader). */
#define S_MAX_ENDPOINTS 16
#define S_ENDPOINT_MAX 64
/* The largest forwarded batch the ROUTER takes. */
#define S_FORWARD_MAX_BYTES (1LL << 30)

typedef struct s_proposal_t {
    uint8_t *data; /* an encoded entry, malloc'd */
    size_t size;
    struct s_proposal_t *next;
} s_proposal_t;

typedef struct {
    struct raft_apply req;
    struct cluster_t *self;
    cluster_entry_t entry; /* header only: which batch it was */
} s_apply_req_t;

struct cluster_t {
    uint64_t node_id;
    char address[CLUSTER_ADDRESS_MAX];
    char dir[PATH_MAX];
    cluster_peers_t peers;
    bool bootstrap;
    unsigned election_timeout_ms;
    handler_env_t env; /* the FSM's: store and config */
    commit_t *commit;
    uint64_t boot; /* random: tells this run's proposals from a past run's */
    handler_cluster_t hooks;

    /* The Raft thread's. */
    pthread_t raft_thread;
    bool raft_running;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    bool raft_inited;
    bool uv_ready;          /* loop, wake and tick initialized */
    uint64_t applied_index; /* the store's last applied entry */
    int64_t last_time_ms;   /* the latest time stamped or applied */
    raft_term announced_term;
    /* Read barriers: the last one sent, when, and the DEALER a follower
       sends them on to the leader's forward socket. */
    uint64_t barrier_sent;
    int64_t barrier_sent_ms;
    void *barrier_dealer;
    char barrier_endpoint[S_ENDPOINT_MAX];

    /* The forward thread's. */
    pthread_t forward_thread;
    bool forward_running;
    void *zctx;
    void *router;
    char forward_endpoint[S_ENDPOINT_MAX];
    atomic_bool forward_stop;

    /* The writer thread's. */
    void *dealer;
    char dealer_endpoint[S_ENDPOINT_MAX];
    uint64_t seq;

    /* Shared, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    s_proposal_t *queue_head, *queue_tail;
    bool stopping;
    handler_cluster_status_t status;
    struct {
        uint64_t id;
        char endpoint[S_ENDPOINT_MAX];
    } endpoints[S_MAX_ENDPOINTS];
    struct {
        bool active, done;
        uint64_t seq;
        job_t **jobs;
        size_t n;
    } pending;
    /* STRONG reads: barriers asked for, and the last of this run's
       applied here (its waiters are woken on barrier_cond). */
    uint64_t barrier_requested, barrier_applied;
    pthread_cond_t barrier_cond;
    /* The change feed's publish, under publish_mu: set and cleared by
       the loop thread, called by the Raft thread after each apply. */
    pthread_mutex_t publish_mu;
    int (*publish)(void *arg, const void *event, size_t size);
    void *publish_arg;
    /* Start-up: the Raft thread's verdict. */
    bool start_done;
    dossier_status_t start_rc;
    char start_error[PATH_MAX + 512];
};

static int64_t
s_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- The writer's pending batch ---- */

/*  Fails every job of the pending batch seq (if it is still waiting)
    with code and why. Takes mu. */
static void
s_fail_pending(cluster_t *self, const cluster_entry_t *entry,
               dossier_status_t code, const char *why) {
    /* Only batches have waiters here (a barrier's seq is another count). */
    if (entry->type != CLUSTER_ENTRY_BATCH || entry->origin != self->node_id ||
        entry->boot != self->boot) {
        return;
    }
    pthread_mutex_lock(&self->mu);
    if (self->pending.active && !self->pending.done &&
        self->pending.seq == entry->seq) {
        dossier_error_t err = {0};
        dossier_error_set(&err, code, "%s", why);
        for (size_t i = 0; i < self->pending.n; i++) {
            job_finish(self->pending.jobs[i], code, &err);
        }
        self->pending.done = true;
        pthread_cond_broadcast(&self->cond);
    }
    pthread_mutex_unlock(&self->mu);
}

/*  Gives the pending batch the outcomes its entry had here (applied:
    one job per write, NULL where a write was left out). Takes mu. */
static void
s_deliver(cluster_t *self, const cluster_entry_t *entry, job_t **applied,
          size_t n) {
    if (entry->origin != self->node_id || entry->boot != self->boot) {
        return;
    }
    pthread_mutex_lock(&self->mu);
    if (self->pending.active && !self->pending.done &&
        self->pending.seq == entry->seq) {
        for (size_t i = 0; i < self->pending.n; i++) {
            job_t *to = self->pending.jobs[i];
            job_t *from = i < n ? applied[i] : NULL;
            if (!from) {
                dossier_error_t err = {0};
                dossier_error_set(&err, DOSSIER_INTERNAL,
                                  "the write could not be applied");
                job_finish(to, DOSSIER_INTERNAL, &err);
                continue;
            }
            to->code = from->code;
            memcpy(to->message, from->message, sizeof to->message);
            to->current_version = from->current_version;
            memcpy(to->audit_id, from->audit_id, sizeof to->audit_id);
            free(to->payload);
            to->payload = from->payload;
            to->payload_size = from->payload_size;
            from->payload = NULL;
            from->payload_size = 0;
        }
        self->pending.done = true;
        pthread_cond_broadcast(&self->cond);
    }
    pthread_mutex_unlock(&self->mu);
}

/* ---- The FSM (Raft thread) ---- */

/*  A LEADER entry: where its origin takes forwarded batches. */
static void
s_apply_leader(cluster_t *self, const cluster_entry_t *entry) {
    char endpoint[S_ENDPOINT_MAX];
    size_t n = entry->payload_size;
    if (n <= 6 || n >= sizeof endpoint ||
        memchr(entry->payload, '\0', n) != NULL ||
        memcmp(entry->payload, "tcp://", 6) != 0) {
        log_warn("cluster: a LEADER entry of node %" PRIu64
                 " names no tcp:// endpoint: ignored",
                 entry->origin);
        return;
    }
    memcpy(endpoint, entry->payload, n);
    endpoint[n] = '\0';
    pthread_mutex_lock(&self->mu);
    size_t slot = S_MAX_ENDPOINTS;
    for (size_t i = 0; i < S_MAX_ENDPOINTS; i++) {
        if (self->endpoints[i].id == entry->origin ||
            (slot == S_MAX_ENDPOINTS && self->endpoints[i].id == 0)) {
            slot = i;
        }
    }
    if (slot < S_MAX_ENDPOINTS) {
        self->endpoints[slot].id = entry->origin;
        memcpy(self->endpoints[slot].endpoint, endpoint, n + 1);
    }
    pthread_mutex_unlock(&self->mu);
}

/*  A BATCH entry: its writes run as the writer would run them, with the
    time the leader gave the entry, in one store batch that also stores
    index. Returns 0, or RAFT_IOERR when the store could not commit:
    raft then stops applying until it tries again (nothing diverges). */
static int
s_apply_batch(cluster_t *self, const cluster_entry_t *entry, uint64_t index) {
    job_t **jobs = NULL;
    size_t n = 0;
    dossier_error_t err = {0};
    if (cluster_entry_unpack_batch(entry, &jobs, &n, &err) != DOSSIER_OK) {
        if (err.code == DOSSIER_RESOURCE_EXHAUSTED) {
            return RAFT_NOMEM;
        }
        log_warn("cluster: entry %" PRIu64 " ignored: %s", index, err.message);
        s_fail_pending(self, entry, DOSSIER_INTERNAL, err.message);
        return 0;
    }
    job_t **run = calloc(n ? n : 1, sizeof *run);
    if (!run) {
        for (size_t i = 0; i < n; i++) {
            job_destroy(&jobs[i]);
        }
        free(jobs);
        return RAFT_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        job_t *job = jobs[i];
        if (!job) {
            continue;
        }
        /* An import or PutBatch parses and checks on a worker first: the
           same stage runs here, on every node, from the same request. */
        if (!job->audit_only && job->method->runs == RUNS_WORKER &&
            job->method->handler) {
            worker_run_stage(&self->env, job);
            if (job->code != DOSSIER_OK || !job->to_writer) {
                continue;
            }
            job->to_writer = false;
        }
        run[m++] = job;
    }
    commit_entry_t at = {.wall_ms = entry->time_ms, .raft_index = index};
    dossier_status_t rc = commit_apply(self->commit, run, m, &at);
    free(run);
    int result = 0;
    if (rc == DOSSIER_OK) {
        self->applied_index = index;
        if (entry->time_ms > self->last_time_ms) {
            self->last_time_ms = entry->time_ms;
        }
        s_deliver(self, entry, jobs, n);
    } else {
        log_error("cluster: entry %" PRIu64 " could not be applied (raft "
                  "tries again later): the store failed",
                  index);
        result = RAFT_IOERR;
    }
    for (size_t i = 0; i < n; i++) {
        job_destroy(&jobs[i]);
    }
    free(jobs);
    return result;
}

static int
s_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
            void **result) {
    cluster_t *self = fsm->data;
    *result = NULL;
    /* raft 0.15 applies entries in order and sets last_applied after
       each, whatever its type: this entry's index is the next. */
    uint64_t index = raft_last_applied(&self->raft) + 1;
    cluster_entry_t entry;
    if (!cluster_entry_decode(buf->base, buf->len, &entry)) {
        log_warn("cluster: entry %" PRIu64 " is not ours (%zu bytes): "
                 "ignored",
                 index, buf->len);
        return 0;
    }
    if (entry.type == CLUSTER_ENTRY_LEADER) {
        s_apply_leader(self, &entry);
        return 0;
    }
    if (entry.type == CLUSTER_ENTRY_BARRIER) {
        /* Every entry before it is applied here: the STRONG reads that
           asked for it (or for an earlier one) may go on. */
        if (entry.origin == self->node_id && entry.boot == self->boot) {
            pthread_mutex_lock(&self->mu);
            if (entry.seq > self->barrier_applied) {
                self->barrier_applied = entry.seq;
                pthread_cond_broadcast(&self->barrier_cond);
            }
            pthread_mutex_unlock(&self->mu);
        }
        return 0;
    }
    if (index <= self->applied_index) {
        /* Raft replays its log from the start at each start (there are
           no snapshots yet); the store already holds this one. */
        return 0;
    }
    return s_apply_batch(self, &entry, index);
}

/*  Snapshots are not taken yet (the threshold is out of reach); a
    request for one is refused, and raft keeps its whole log. */
static int
s_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
               unsigned *n_bufs) {
    (void)fsm;
    (void)bufs;
    (void)n_bufs;
    return RAFT_NOTFOUND;
}

static int
s_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf) {
    (void)fsm;
    (void)buf;
    log_error("cluster: asked to restore a snapshot, which this version "
              "cannot");
    return RAFT_NOTFOUND;
}

/* ---- Proposals (Raft thread) ---- */

static void
s_apply_done(struct raft_apply *req, int status, void *result) {
    (void)result;
    s_apply_req_t *apply = (s_apply_req_t *)req;
    if (status != 0) {
        char why[200];
        snprintf(why, sizeof why,
                 "the leader lost its leadership before the write "
                 "committed (%s): it may or may not have been applied; "
                 "resend it with the same idempotency key",
                 raft_strerror(status));
        s_fail_pending(apply->self, &apply->entry, DOSSIER_UNAVAILABLE, why);
    }
    free(apply);
}

/*  Appends the encoded entry (data, size bytes, borrowed) to the log when
    this node leads, with the leader's time; otherwise, or when raft
    refuses, fails it (only this node's own batches wait for it). */
static void
s_propose(cluster_t *self, uint8_t *data, size_t size) {
    cluster_entry_t entry;
    if (!cluster_entry_decode(data, size, &entry)) {
        return;
    }
    if (raft_state(&self->raft) != RAFT_LEADER) {
        s_fail_pending(self, &entry, DOSSIER_UNAVAILABLE,
                       "this node stopped leading before it could append "
                       "the write; send it again");
        return;
    }
    /* The time every node records for this entry: never before the
       previous one's, even when this clock stepped back. */
    int64_t now = s_wall_ms();
    if (now < self->last_time_ms) {
        now = self->last_time_ms;
    }
    self->last_time_ms = now;
    cluster_entry_set_time(data, now);
    s_apply_req_t *apply = calloc(1, sizeof *apply);
    /* A forwarded entry may come unpadded: raft_uv needs 8-byte units. */
    size_t padded = CLUSTER_ENTRY_PADDED(size);
    struct raft_buffer buf = {.base = raft_calloc(1, padded), .len = padded};
    if (!apply || !buf.base) {
        free(apply);
        raft_free(buf.base);
        s_fail_pending(self, &entry, DOSSIER_RESOURCE_EXHAUSTED,
                       "out of memory");
        return;
    }
    memcpy(buf.base, data, size);
    apply->self = self;
    apply->entry = entry;
    int rv = raft_apply(&self->raft, &apply->req, &buf, 1, s_apply_done);
    if (rv != 0) {
        raft_free(buf.base);
        free(apply);
        char why[200];
        snprintf(why, sizeof why, "raft refused the write: %s",
                 raft_strerror(rv));
        s_fail_pending(self, &entry, DOSSIER_UNAVAILABLE, why);
    }
}

/*  Tells the cluster where this node, now leader, takes forwarded
    batches, once per term. */
static void
s_announce(cluster_t *self) {
    if (self->announced_term == self->raft.current_term) {
        return;
    }
    size_t n = strlen(self->forward_endpoint);
    cluster_entry_t entry = {
        .type = CLUSTER_ENTRY_LEADER,
        .origin = self->node_id,
        .boot = self->boot,
        .time_ms = s_wall_ms(),
        .payload_size = n,
    };
    s_apply_req_t *apply = calloc(1, sizeof *apply);
    size_t padded = CLUSTER_ENTRY_PADDED(CLUSTER_ENTRY_HEADER + n);
    struct raft_buffer buf = {.base = raft_calloc(1, padded), .len = padded};
    if (!apply || !buf.base) {
        free(apply);
        raft_free(buf.base);
        return; /* tried again at the next tick */
    }
    cluster_entry_put_header(buf.base, &entry);
    memcpy((uint8_t *)buf.base + CLUSTER_ENTRY_HEADER, self->forward_endpoint,
           n);
    apply->self = self;
    apply->entry = entry;
    if (raft_apply(&self->raft, &apply->req, &buf, 1, s_apply_done) != 0) {
        raft_free(buf.base);
        free(apply);
        return;
    }
    self->announced_term = self->raft.current_term;
    log_info("cluster: node %" PRIu64 " leads (term %llu); forwarded "
             "writes go to %s",
             self->node_id, (unsigned long long)self->raft.current_term,
             self->forward_endpoint);
}

static const char *
s_role_name(int state) {
    switch (state) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

static void
s_on_close(uv_handle_t *handle) {
    (void)handle;
}

static void
s_raft_closed(struct raft *raft) {
    cluster_t *self = raft->data;
    raft_uv_close(&self->io);
    raft_uv_tcp_close(&self->transport);
}

static bool s_leader_endpoint(cluster_t *self, char out[S_ENDPOINT_MAX],
                              bool *self_leads);

/*  Sends a BARRIER entry for the STRONG reads waiting, when some wait
    for more than the last one sent, or when that one was sent a while
    ago (lost with a leader that changed): proposed when this node
    leads, else sent to the leader's forward socket without waiting (a
    DEALER of this thread; queued until it connects). One entry serves
    every read that asked before it was sent. */
static void
s_barrier_send(cluster_t *self) {
    pthread_mutex_lock(&self->mu);
    uint64_t wanted = self->barrier_requested;
    uint64_t applied = self->barrier_applied;
    pthread_mutex_unlock(&self->mu);
    int64_t now = job_now_ms();
    if (wanted <= applied ||
        (wanted == self->barrier_sent &&
         now - self->barrier_sent_ms < (int64_t)self->election_timeout_ms)) {
        return;
    }
    cluster_entry_t entry = {
        .type = CLUSTER_ENTRY_BARRIER,
        .origin = self->node_id,
        .boot = self->boot,
        .seq = wanted,
    };
    uint8_t data[CLUSTER_ENTRY_HEADER];
    cluster_entry_put_header(data, &entry);
    char endpoint[S_ENDPOINT_MAX];
    bool self_leads = false;
    if (s_leader_endpoint(self, endpoint, &self_leads)) {
        if (self->barrier_dealer &&
            strcmp(self->barrier_endpoint, endpoint) != 0) {
            zmq_close(self->barrier_dealer);
            self->barrier_dealer = NULL;
        }
        if (!self->barrier_dealer) {
            self->barrier_dealer = zmq_socket(self->zctx, ZMQ_DEALER);
            int zero = 0;
            if (!self->barrier_dealer ||
                zmq_setsockopt(self->barrier_dealer, ZMQ_LINGER, &zero,
                               sizeof zero) != 0 ||
                zmq_connect(self->barrier_dealer, endpoint) != 0) {
                if (self->barrier_dealer) {
                    zmq_close(self->barrier_dealer);
                }
                self->barrier_dealer = NULL;
                return; /* tried again at the next tick */
            }
            snprintf(self->barrier_endpoint, sizeof self->barrier_endpoint,
                     "%s", endpoint);
        }
        if (zmq_send(self->barrier_dealer, data, sizeof data, ZMQ_DONTWAIT) !=
            (int)sizeof data) {
            return;
        }
    } else if (self_leads) {
        s_propose(self, data, sizeof data);
    } else {
        return; /* no leader known: tried again at the next tick */
    }
    self->barrier_sent = wanted;
    self->barrier_sent_ms = now;
}

/*  The queue's proposals, read barriers, and the stop request. */
static void
s_on_wake(uv_async_t *handle) {
    cluster_t *self = handle->data;
    pthread_mutex_lock(&self->mu);
    s_proposal_t *list = self->queue_head;
    self->queue_head = self->queue_tail = NULL;
    bool stopping = self->stopping;
    pthread_mutex_unlock(&self->mu);
    while (list) {
        s_proposal_t *next = list->next;
        if (!stopping) {
            s_propose(self, list->data, list->size);
        }
        free(list->data);
        free(list);
        list = next;
    }
    if (!stopping) {
        s_barrier_send(self);
    }
    if (stopping) {
        uv_close((uv_handle_t *)&self->tick, s_on_close);
        uv_close((uv_handle_t *)&self->wake, s_on_close);
        raft_close(&self->raft, s_raft_closed);
    }
}

/*  The state Health and ClusterStatus report, and the LEADER entry after
    an election won. */
static void
s_on_tick(uv_timer_t *handle) {
    cluster_t *self = handle->data;
    struct raft *raft = &self->raft;
    int state = raft_state(raft);
    handler_cluster_status_t status = {
        .node_id = self->node_id,
        .role = s_role_name(state),
        .term = raft->current_term,
        .commit_index = raft->commit_index,
        .applied_index = raft_last_applied(raft),
        .last_index = raft_last_index(raft),
    };
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(raft, &leader, &address);
    status.leader_id = leader;
    for (unsigned i = 0; i < raft->configuration.n && i < HANDLER_CLUSTER_NODES;
         i++) {
        const struct raft_server *server = &raft->configuration.servers[i];
        status.nodes[i].id = server->id;
        snprintf(status.nodes[i].address, sizeof status.nodes[i].address, "%s",
                 server->address);
        if (state == RAFT_LEADER) {
            status.nodes[i].match_index =
                server->id == self->node_id
                    ? status.last_index
                    : raft->leader_state.progress[i].match_index;
        }
        status.n_nodes = i + 1;
    }
    pthread_mutex_lock(&self->mu);
    self->status = status;
    pthread_mutex_unlock(&self->mu);
    if (state == RAFT_LEADER) {
        s_announce(self);
    }
    s_barrier_send(self);
}

/* ---- Start-up (Raft thread) ---- */

/*  Sets up raft on the thread's loop. Returns 0 or a raft code with why
    written into self->start_error. */
static int
s_raft_setup(cluster_t *self) {
    int rv = raft_uv_tcp_init(&self->transport, &self->loop);
    if (rv != 0) {
        snprintf(self->start_error, sizeof self->start_error,
                 "the Raft transport: %s", raft_strerror(rv));
        return rv;
    }
    rv = raft_uv_init(&self->io, &self->loop, self->dir, &self->transport);
    if (rv != 0) {
        snprintf(self->start_error, sizeof self->start_error,
                 "the Raft directory %s: %s", self->dir, self->io.errmsg);
        raft_uv_tcp_close(&self->transport);
        return rv;
    }
    self->fsm.version = 1;
    self->fsm.data = self;
    self->fsm.apply = s_fsm_apply;
    self->fsm.snapshot = s_fsm_snapshot;
    self->fsm.restore = s_fsm_restore;
    rv = raft_init(&self->raft, &self->io, &self->fsm, self->node_id,
                   self->address);
    if (rv != 0) {
        snprintf(self->start_error, sizeof self->start_error, "raft_init: %s",
                 raft_errmsg(&self->raft));
        raft_uv_close(&self->io);
        raft_uv_tcp_close(&self->transport);
        return rv;
    }
    self->raft.data = self;
    self->raft_inited = true;
    raft_set_election_timeout(&self->raft, self->election_timeout_ms);
    raft_set_heartbeat_timeout(&self->raft, self->election_timeout_ms / 10);
    raft_set_snapshot_threshold(&self->raft, UINT_MAX);
    raft_set_pre_vote(&self->raft, true);
    if (self->bootstrap) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        for (size_t i = 0; rv == 0 && i < self->peers.n; i++) {
            rv = raft_configuration_add(&conf, self->peers.nodes[i].id,
                                        self->peers.nodes[i].address,
                                        RAFT_VOTER);
        }
        if (rv == 0) {
            rv = raft_bootstrap(&self->raft, &conf);
        }
        raft_configuration_close(&conf);
        if (rv == RAFT_CANTBOOTSTRAP) {
            log_info("cluster: %s holds Raft state already: --peers is not "
                     "read again",
                     self->dir);
            rv = 0;
        } else if (rv == 0) {
            log_info("cluster: bootstrapped with %zu nodes", self->peers.n);
        } else {
            snprintf(self->start_error, sizeof self->start_error,
                     "raft_bootstrap: %s", raft_strerror(rv));
            return rv;
        }
    }
    rv = raft_start(&self->raft);
    if (rv != 0) {
        snprintf(self->start_error, sizeof self->start_error, "raft_start: %s",
                 raft_errmsg(&self->raft));
        return rv;
    }
    if (self->raft.configuration.n == 0) {
        snprintf(self->start_error, sizeof self->start_error,
                 "%s holds no Raft configuration: give --peers on a "
                 "node's first start",
                 self->dir);
        return RAFT_NOTFOUND;
    }
    return 0;
}

static void *
s_raft_main(void *arg) {
    cluster_t *self = arg;
    int rv = s_raft_setup(self);
    if (rv == 0) {
        rv = uv_timer_start(&self->tick, s_on_tick, 0, S_TICK_MS);
    }
    pthread_mutex_lock(&self->mu);
    self->start_done = true;
    self->start_rc = rv == 0 ? DOSSIER_OK : DOSSIER_UNAVAILABLE;
    if (rv != 0) {
        self->stopping = true;
    }
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->mu);
    if (rv != 0) {
        uv_close((uv_handle_t *)&self->tick, s_on_close);
        uv_close((uv_handle_t *)&self->wake, s_on_close);
        if (self->raft_inited) {
            raft_close(&self->raft, s_raft_closed);
        }
    }
    uv_run(&self->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- The forward thread ---- */

/*  Queues an encoded entry for the Raft thread (data is taken). */
static void
s_enqueue(cluster_t *self, uint8_t *data, size_t size) {
    s_proposal_t *proposal = malloc(sizeof *proposal);
    if (!proposal) {
        free(data);
        return;
    }
    proposal->data = data;
    proposal->size = size;
    proposal->next = NULL;
    pthread_mutex_lock(&self->mu);
    if (self->queue_tail) {
        self->queue_tail->next = proposal;
    } else {
        self->queue_head = proposal;
    }
    self->queue_tail = proposal;
    pthread_mutex_unlock(&self->mu);
    uv_async_send(&self->wake);
}

/*  Each message: [peer identity][an encoded BATCH entry]. Anything else
    is dropped (its sender times out). Nothing is answered: the sender
    waits for the entry to reach its own store. */
static void *
s_forward_main(void *arg) {
    cluster_t *self = arg;
    while (!atomic_load(&self->forward_stop)) {
        zmq_pollitem_t item = {self->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0) {
            continue;
        }
        zmq_msg_t parts[2];
        int n = 0;
        bool more = true;
        while (more) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->router, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            if (n < 2) {
                parts[n++] = msg;
            } else {
                n++;
                zmq_msg_close(&msg);
            }
        }
        cluster_entry_t entry;
        if (n == 2 &&
            cluster_entry_decode(zmq_msg_data(&parts[1]),
                                 zmq_msg_size(&parts[1]), &entry) &&
            (entry.type == CLUSTER_ENTRY_BATCH ||
             entry.type == CLUSTER_ENTRY_BARRIER)) {
            size_t size = zmq_msg_size(&parts[1]);
            uint8_t *copy = malloc(size);
            if (copy) {
                memcpy(copy, zmq_msg_data(&parts[1]), size);
                s_enqueue(self, copy, size);
            }
        } else {
            log_warn("cluster: a forwarded message that is no batch: "
                     "dropped");
        }
        for (int i = 0; i < n && i < 2; i++) {
            zmq_msg_close(&parts[i]);
        }
    }
    return NULL;
}

/* ---- The writer's submit ---- */

/*  The leader's forward endpoint (copied into out), or false when no
    leader is known, or when this node is the leader (*self_leads). */
static bool
s_leader_endpoint(cluster_t *self, char out[S_ENDPOINT_MAX], bool *self_leads) {
    bool found = false;
    pthread_mutex_lock(&self->mu);
    uint64_t leader_id = self->status.leader_id;
    *self_leads =
        leader_id == self->node_id && strcmp(self->status.role, "leader") == 0;
    for (size_t i = 0; !*self_leads && leader_id && i < S_MAX_ENDPOINTS; i++) {
        if (self->endpoints[i].id == leader_id) {
            memcpy(out, self->endpoints[i].endpoint, S_ENDPOINT_MAX);
            found = true;
        }
    }
    pthread_mutex_unlock(&self->mu);
    return found;
}

/*  Sends the entry to the leader's forward socket, (re)connecting the
    DEALER when the leader moved. Returns true when it left. */
static bool
s_forward(cluster_t *self, const char *endpoint, const uint8_t *data,
          size_t size) {
    if (self->dealer && strcmp(self->dealer_endpoint, endpoint) != 0) {
        zmq_close(self->dealer);
        self->dealer = NULL;
    }
    if (!self->dealer) {
        self->dealer = zmq_socket(self->zctx, ZMQ_DEALER);
        if (!self->dealer) {
            return false;
        }
        int zero = 0, one = 1;
        zmq_setsockopt(self->dealer, ZMQ_LINGER, &zero, sizeof zero);
        /* Nothing queued for a leader not connected: a dead one fails
           the send at once instead of holding the batch. */
        zmq_setsockopt(self->dealer, ZMQ_IMMEDIATE, &one, sizeof one);
        if (zmq_connect(self->dealer, endpoint) != 0) {
            zmq_close(self->dealer);
            self->dealer = NULL;
            return false;
        }
        snprintf(self->dealer_endpoint, sizeof self->dealer_endpoint, "%s",
                 endpoint);
    }
    /* A new connection needs a moment to finish its handshake: the send
       waits for it, bounded. */
    int timeout = (int)self->election_timeout_ms;
    zmq_setsockopt(self->dealer, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    return zmq_send(self->dealer, data, size, 0) == (int)size;
}

static void
s_fail_jobs(job_t **jobs, size_t n, dossier_status_t code, const char *why) {
    dossier_error_t err = {0};
    dossier_error_set(&err, code, "%s", why);
    for (size_t i = 0; i < n; i++) {
        job_finish(jobs[i], code, &err);
    }
}

/*  Waits on cond (mu held) until signalled or until deadline (job_now_ms
    time); false, without waiting, once the deadline has passed. */
static bool
s_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t deadline) {
    int64_t left = deadline - job_now_ms();
    if (left <= 0) {
        return false;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += left / 1000;
    until.tv_nsec += (left % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(cond, mu, &until);
    return true;
}

static void
s_submit(void *arg, job_t **jobs, size_t n) {
    cluster_t *self = arg;
    /* What is not replicated is answered here. */
    job_t **sent = calloc(n ? n : 1, sizeof *sent);
    if (!sent) {
        s_fail_jobs(jobs, n, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    size_t m = 0;
    int64_t deadline = job_now_ms() + (int64_t)S_WAIT_ELECTIONS * 2 *
                                          self->election_timeout_ms;
    for (size_t i = 0; i < n; i++) {
        job_t *job = jobs[i];
        if (!job->audit_only && job_expired(job)) {
            worker_expire(job);
        } else if (!job->method || (!job->input && !job->audit_only)) {
            s_fail_jobs(&job, 1, DOSSIER_INTERNAL, "a write without request");
        } else if (strcmp(job->method->name, "CreateToken") == 0) {
            /* Its secret is drawn at random by the handler: each node
               would store another. Not in a cluster yet. */
            s_fail_jobs(&job, 1, DOSSIER_UNIMPLEMENTED,
                        "CreateToken is not available on a cluster yet");
        } else {
            sent[m++] = job;
            if (job->deadline && job->deadline < deadline) {
                deadline = job->deadline;
            }
        }
    }
    if (m == 0) {
        free(sent);
        return;
    }
    cluster_entry_t head = {
        .type = CLUSTER_ENTRY_BATCH,
        .origin = self->node_id,
        .boot = self->boot,
        .seq = ++self->seq,
    };
    dossier_error_t err = {0};
    size_t size = 0;
    uint8_t *data = cluster_entry_pack_batch(&head, sent, m, &size, &err);
    if (!data) {
        s_fail_jobs(sent, m, err.code, err.message);
        free(sent);
        return;
    }
    pthread_mutex_lock(&self->mu);
    self->pending.active = true;
    self->pending.done = false;
    self->pending.seq = head.seq;
    self->pending.jobs = sent;
    self->pending.n = m;
    pthread_mutex_unlock(&self->mu);

    char endpoint[S_ENDPOINT_MAX];
    bool self_leads = false;
    const char *refused = NULL;
    if (s_leader_endpoint(self, endpoint, &self_leads)) {
        if (!s_forward(self, endpoint, data, size)) {
            refused = "the leader could not be reached; send the write "
                      "again";
        }
        free(data);
    } else if (self_leads) {
        s_enqueue(self, data, size);
    } else {
        free(data);
        refused = "no leader is known (an election is under way, or a "
                  "majority of the cluster is down): the write was not "
                  "taken; send it again";
    }
    if (refused) {
        s_fail_pending(self, &head, DOSSIER_UNAVAILABLE, refused);
    }

    /* Until applied here, failed, or the bound. */
    pthread_mutex_lock(&self->mu);
    while (!self->pending.done &&
           s_wait_until(&self->cond, &self->mu, deadline)) {
    }
    bool done = self->pending.done;
    self->pending.active = false;
    pthread_mutex_unlock(&self->mu);
    if (!done) {
        s_fail_jobs(sent, m, DOSSIER_UNAVAILABLE,
                    "the write was not applied in time (the cluster may "
                    "be electing a leader): it may or may not have been "
                    "applied; send it again with the same idempotency key");
    }
    free(sent);
}

/*  The FSM's commit publishes through here (Raft thread): to the feed
    the loop set, if any. publish_mu is held while it runs, so clearing
    it waits for a publish under way. */
static int
s_publish(void *arg, const void *event, size_t size) {
    cluster_t *self = arg;
    int rc = 0;
    pthread_mutex_lock(&self->publish_mu);
    if (self->publish) {
        rc = self->publish(self->publish_arg, event, size);
    }
    pthread_mutex_unlock(&self->publish_mu);
    return rc;
}

static void
s_set_publish(void *arg, int (*publish)(void *, const void *, size_t),
              void *publish_arg) {
    cluster_t *self = arg;
    pthread_mutex_lock(&self->publish_mu);
    self->publish = publish;
    self->publish_arg = publish_arg;
    pthread_mutex_unlock(&self->publish_mu);
}

/*  The read_barrier hook (a worker): takes a ticket, wakes the Raft
    thread to send a barrier, waits until one at least as recent is
    applied here. */
static dossier_status_t
s_read_barrier(void *arg, int64_t deadline, dossier_error_t *err) {
    cluster_t *self = arg;
    int64_t bound = job_now_ms() +
                    (int64_t)S_WAIT_ELECTIONS * 2 * self->election_timeout_ms;
    if (deadline && deadline < bound) {
        bound = deadline;
    }
    pthread_mutex_lock(&self->mu);
    uint64_t ticket = ++self->barrier_requested;
    pthread_mutex_unlock(&self->mu);
    uv_async_send(&self->wake);
    pthread_mutex_lock(&self->mu);
    while (self->barrier_applied < ticket &&
           s_wait_until(&self->barrier_cond, &self->mu, bound)) {
    }
    bool done = self->barrier_applied >= ticket;
    pthread_mutex_unlock(&self->mu);
    if (!done) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "consistency strong: this node could not "
                                 "catch up with the leader in time (no "
                                 "leader, or no majority); retry, or read "
                                 "without it");
    }
    return DOSSIER_OK;
}

static void
s_status(void *arg, handler_cluster_status_t *status) {
    cluster_t *self = arg;
    pthread_mutex_lock(&self->mu);
    *status = self->status;
    pthread_mutex_unlock(&self->mu);
}

/* ---- Life ---- */

/*  Binds the forward ROUTER on the Raft address's host, any port. */
static dossier_status_t
s_bind_forward(cluster_t *self, dossier_error_t *err) {
    char host[CLUSTER_ADDRESS_MAX];
    snprintf(host, sizeof host, "%s", self->address);
    char *colon = strrchr(host, ':');
    if (colon) {
        *colon = '\0';
    }
    char bind[S_ENDPOINT_MAX];
    snprintf(bind, sizeof bind, "tcp://%s:*", host);
    self->router = zmq_socket(self->zctx, ZMQ_ROUTER);
    int64_t max = S_FORWARD_MAX_BYTES;
    int zero = 0;
    size_t len = sizeof self->forward_endpoint;
    if (!self->router ||
        zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0 ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(self->router, bind) != 0 ||
        zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, self->forward_endpoint,
                       &len) != 0) {
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cluster: cannot bind the forward socket "
                                 "at %s: %s",
                                 bind, zmq_strerror(zmq_errno()));
    }
    return DOSSIER_OK;
}

cluster_t *
cluster_new(const config_t *config, const handler_env_t *env,
            dossier_error_t *err) {
    cluster_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cond, NULL);
    pthread_mutex_init(&self->publish_mu, NULL);
    pthread_cond_init(&self->barrier_cond, NULL);
    self->status.role = "unavailable";
    self->status.node_id = config->node_id;
    self->node_id = config->node_id;
    self->election_timeout_ms = config->raft_election_timeout_ms
                                    ? config->raft_election_timeout_ms
                                    : 1000;
    snprintf(self->address, sizeof self->address, "%s", config->raft);
    int n = snprintf(self->dir, sizeof self->dir, "%s/raft", config->data_dir);
    self->env = *env;
    self->env.stats = NULL;
    self->env.users = NULL;
    self->env.cluster = NULL;
    self->hooks.status = s_status;
    self->hooks.submit = s_submit;
    self->hooks.set_publish = s_set_publish;
    self->hooks.read_barrier = s_read_barrier;
    self->hooks.arg = self;
    if (getrandom(&self->boot, sizeof self->boot, 0) != sizeof self->boot) {
        self->boot = (uint64_t)s_wall_ms() ^ (uint64_t)getpid() << 32;
    }
    if (n < 0 || (size_t)n >= sizeof self->dir) {
        dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                          "cluster: the data directory's path is too long");
        goto fail;
    }
    if (config->peers) {
        if (cluster_peers_parse(config->peers, &self->peers, err) !=
            DOSSIER_OK) {
            goto fail;
        }
        self->bootstrap = true;
    }
    if (fsops_make_dirs(self->dir, 0700, err) != DOSSIER_OK) {
        goto fail;
    }
    /* Change events are made only when there is a feed to take them. */
    bool feed = config->feed_bind && *config->feed_bind;
    self->commit = commit_new(&self->env, feed ? s_publish : NULL, self, err);
    if (!self->commit ||
        commit_applied_index(self->commit, &self->applied_index, err) !=
            DOSSIER_OK) {
        goto fail;
    }
    self->zctx = zmq_ctx_new();
    if (!self->zctx || s_bind_forward(self, err) != DOSSIER_OK) {
        goto fail;
    }
    if (uv_loop_init(&self->loop) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL, "cluster: libuv failed");
        goto fail;
    }
    /* Neither fails on an initialized loop (libuv 1.44). */
    uv_async_init(&self->loop, &self->wake, s_on_wake);
    uv_timer_init(&self->loop, &self->tick);
    self->uv_ready = true;
    self->wake.data = self;
    self->tick.data = self;
    if (pthread_create(&self->raft_thread, NULL, s_raft_main, self) != 0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cluster: cannot start the Raft thread");
        goto fail;
    }
    self->raft_running = true;
    pthread_mutex_lock(&self->mu);
    while (!self->start_done) {
        pthread_cond_wait(&self->cond, &self->mu);
    }
    pthread_mutex_unlock(&self->mu);
    if (self->start_rc != DOSSIER_OK) {
        dossier_error_set(err, self->start_rc, "cluster: %s",
                          self->start_error);
        goto fail;
    }
    if (pthread_create(&self->forward_thread, NULL, s_forward_main, self) !=
        0) {
        dossier_error_set(err, DOSSIER_INTERNAL,
                          "cluster: cannot start the forward thread");
        goto fail;
    }
    self->forward_running = true;
    log_info("cluster: node %u, Raft at %s (%s), forward socket %s, %" PRIu64
             " entries already in the store",
             config->node_id, self->address, self->dir, self->forward_endpoint,
             self->applied_index);
    return self;

fail:
    cluster_destroy(&self);
    return NULL;
}

const handler_cluster_t *
cluster_hooks(cluster_t *self) {
    return &self->hooks;
}

const char *
cluster_forward_endpoint(const cluster_t *self) {
    return self->forward_endpoint;
}

void
cluster_destroy(cluster_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    cluster_t *self = *self_p;
    if (self->forward_running) {
        atomic_store(&self->forward_stop, true);
        pthread_join(self->forward_thread, NULL);
    }
    if (self->raft_running) {
        pthread_mutex_lock(&self->mu);
        bool already = self->stopping;
        self->stopping = true;
        pthread_mutex_unlock(&self->mu);
        if (!already) {
            uv_async_send(&self->wake);
        }
        pthread_join(self->raft_thread, NULL);
        uv_loop_close(&self->loop);
    } else if (self->uv_ready) {
        /* Set up but never run: close what was opened. */
        uv_close((uv_handle_t *)&self->wake, s_on_close);
        uv_close((uv_handle_t *)&self->tick, s_on_close);
        uv_run(&self->loop, UV_RUN_DEFAULT);
        uv_loop_close(&self->loop);
    }
    while (self->queue_head) {
        s_proposal_t *next = self->queue_head->next;
        free(self->queue_head->data);
        free(self->queue_head);
        self->queue_head = next;
    }
    if (self->dealer) {
        zmq_close(self->dealer);
    }
    if (self->barrier_dealer) {
        zmq_close(self->barrier_dealer);
    }
    if (self->router) {
        zmq_close(self->router);
    }
    if (self->zctx) {
        zmq_ctx_term(self->zctx);
    }
    commit_destroy(&self->commit);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->mu);
    pthread_mutex_destroy(&self->publish_mu);
    pthread_cond_destroy(&self->barrier_cond);
    free(self);
    *self_p = NULL;
}
