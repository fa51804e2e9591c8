/*  recorder.c: what the writer records beside each write, in the same
    batch: the audit entry, the reply under the call's idempotency key,
    and the change events it publishes once the batch is durable. See
    recorder.h.

    An idempotency key is stored under caller '\0' key, so two callers
    can never see each other's replies. The caller is its CURVE public
    key (Z85) when it has one, not its name: a certificate that takes
    over a name (a re-keyed user, a second file with the same name) never
    gets the replies of the key that had it. Without CURVE it is the name
    ("anonymous"), which no 40-character key can equal. Its value (opaque
    to the store):

        be32 code | be64 current_version | be16 n | method (n bytes)
        | be16 m | message (m bytes) | payload (the rest)
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/checks.h"
#include "api/methods.h"
#include "bigendian.h"
#include "dossier/v1/reports.pb-c.h"
#include "exec/recorder.h"
#include "log.h"
#include "store/store.h"
#include "text.h"

#define S_MAX_IDS 64 /* ids named in one audit entry */

/* ---- Small helpers ---- */

static int64_t
s_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  "2026-11-27T20:54:02.123Z" for ms since the epoch. */
static void
s_iso(int64_t ms, char out[32]) {
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

typedef struct {
    uint8_t *data;
    size_t size;
} s_event_t;

struct recorder_t {
    const config_t *config;
    recorder_publish_fn publish;
    void *publish_arg;
    s_event_t *events;
    size_t n_events, cap_events;
    int64_t clock_ms; /* recorder_set_clock's time, 0: the wall clock */
};

void
recorder_set_clock(recorder_t *self, int64_t wall_ms) {
    self->clock_ms = wall_ms;
}

/*  The batch's time: the one a Raft entry carries, else the clock's. */
static int64_t
s_now(const recorder_t *self) {
    return self->clock_ms ? self->clock_ms : s_wall_ms();
}

recorder_t *
recorder_new(const config_t *config, recorder_publish_fn publish,
             void *publish_arg) {
    recorder_t *self = calloc(1, sizeof *self);
    if (self) {
        self->config = config;
        self->publish = publish;
        self->publish_arg = publish_arg;
    }
    return self;
}

void
recorder_batch_begin(recorder_t *self) {
    for (size_t i = 0; i < self->n_events; i++) {
        free(self->events[i].data);
    }
    self->n_events = 0;
}

void
recorder_destroy(recorder_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    recorder_t *self = *self_p;
    recorder_batch_begin(self);
    free(self->events);
    free(self);
    *self_p = NULL;
}

/*  caller '\0' key (the caller: its public key, else its name), into
   buf (at least sizeof job->user + CHECKS_IDEMPOTENCY_KEY_MAX + 1 bytes,
   and job->user is the larger). Returns its size. */
static size_t
s_idem_key(const job_t *job, uint8_t *buf) {
    _Static_assert(sizeof job->user >= sizeof job->user_key,
                   "the key buffers are sized by job->user");
    _Static_assert(sizeof job->user >= sizeof job->token_id + 6,
                   "the key buffers are sized by job->user");
    /* A token's callers share their gateway's key: each token is a
       caller of its own ("token:" cannot start a Z85 key of 40
       characters or be the name "anonymous"). */
    char token[sizeof job->token_id + 6];
    snprintf(token, sizeof token, "token:%s", job->token_id);
    const char *caller = job->token_id[0]   ? token
                         : job->user_key[0] ? job->user_key
                                            : job->user;
    size_t u = strlen(caller);
    size_t k = strlen(job->idempotency_key);
    memcpy(buf, caller, u);
    buf[u] = '\0';
    memcpy(buf + u + 1, job->idempotency_key, k);
    return u + 1 + k;
}

/*  Only a method declared IDEMPOTENT keeps its replies under their
    keys: CreateToken (IDEMPOTENCY_UNKNOWN) answers with a secret that
    must be kept nowhere. */
static bool
s_keeps_replies(const job_t *job) {
    return job->idempotency_key[0] &&
           job->method->idempotency == APISPEC_IDEMPOTENT;
}

bool
recorder_replay(recorder_t *self, store_batch_t *batch, job_t *job) {
    (void)self;
    if (!s_keeps_replies(job)) {
        return false;
    }
    uint8_t key[sizeof job->user + CHECKS_IDEMPOTENCY_KEY_MAX + 1];
    size_t key_size = s_idem_key(job, key);
    uint8_t *value = NULL;
    size_t size = 0;
    dossier_error_t err = {0};
    dossier_status_t rc =
        store_idem_get(batch, key, key_size, &value, &size, &err);
    if (rc != DOSSIER_OK) {
        if (rc != DOSSIER_NOT_FOUND) {
            log_warn("idempotency key of request %llu not looked up: %s",
                     (unsigned long long)job->request_id, err.message);
        }
        return false;
    }
    /* Parse what recorder_record wrote; damage is a failed lookup. */
    size_t at = 14;
    size_t n = size >= at ? (size_t)be_get(value + 12, 2) : 0;
    size_t m = size >= at + n + 2 ? (size_t)be_get(value + at + n, 2) : 0;
    if (size < at || size < at + n + 2 || size < at + n + 2 + m) {
        log_warn("idempotency key of request %llu has a damaged entry; the "
                 "write runs",
                 (unsigned long long)job->request_id);
        free(value);
        return false;
    }
    const char *method = (const char *)value + at;
    const char *message = (const char *)value + at + n + 2;
    const uint8_t *payload = value + at + n + 2 + m;
    size_t payload_size = size - (at + n + 2 + m);
    if (n != strlen(job->method->full_name) ||
        memcmp(method, job->method->full_name, n) != 0) {
        dossier_error_set(&err, DOSSIER_INVALID_ARGUMENT,
                          "idempotency key %s was used for another method "
                          "(%.*s); send a new key for each call",
                          job->idempotency_key, (int)(n < 96 ? n : 96), method);
        job_finish(job, DOSSIER_INVALID_ARGUMENT, &err);
        free(value);
        return true;
    }
    dossier_status_t code = (dossier_status_t)be_get(value, 4);
    job->current_version = be_get(value + 4, 8);
    if (code == DOSSIER_OK) {
        job_finish(job, DOSSIER_OK, NULL);
        if (job_set_bytes(job, payload, payload_size, &err) != DOSSIER_OK) {
            job_finish(job, err.code, &err);
        }
    } else {
        dossier_error_set(&err, code, "%.*s", (int)(m < 255 ? m : 255),
                          message);
        job_finish(job, code, &err);
    }
    free(value);
    return true;
}

/*  Whether a reply is the final answer to a write, fit to repeat:
    transient failures (full store, deadline, shutdown) are not. */
static bool
s_final(dossier_status_t code) {
    switch (code) {
    case DOSSIER_OK:
    case DOSSIER_INVALID_ARGUMENT:
    case DOSSIER_NOT_FOUND:
    case DOSSIER_ALREADY_EXISTS:
    case DOSSIER_FAILED_PRECONDITION:
    case DOSSIER_ABORTED:
        return true;
    default:
        return false;
    }
}

static dossier_status_t
s_store_reply(store_batch_t *batch, job_t *job, int64_t now,
              dossier_error_t *err) {
    size_t n = strlen(job->method->full_name);
    size_t m = job->code == DOSSIER_OK ? 0 : strlen(job->message);
    size_t p = job->code == DOSSIER_OK ? job->payload_size : 0;
    size_t size = 4 + 8 + 2 + n + 2 + m + p;
    uint8_t *value = malloc(size);
    if (!value) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    be_put(value, (uint32_t)job->code, 4);
    be_put(value + 4, job->current_version, 8);
    be_put(value + 12, n, 2);
    memcpy(value + 14, job->method->full_name, n);
    be_put(value + 14 + n, m, 2);
    memcpy(value + 16 + n, job->message, m);
    if (p) {
        memcpy(value + 16 + n + m, job->payload, p);
    }
    uint8_t key[sizeof job->user + CHECKS_IDEMPOTENCY_KEY_MAX + 1];
    size_t key_size = s_idem_key(job, key);
    dossier_status_t rc =
        store_idem_put(batch, key, key_size, value, size, now, err);
    free(value);
    return rc;
}

/*  The id the request names (the record written may add more), copied
    into buf (at most 128 bytes, valid UTF-8: it may be malformed). */
static void
s_request_ids(const job_t *job, const char **ids, size_t *n, char buf[132]) {
    const ProtobufCMessage *input = job->input;
    const char *id = NULL;
    if (!input) {
        return;
    }
    if (input->descriptor == &dossier__v1__put_request__descriptor) {
        const Dossier__V1__PutRequest *r = (const void *)input;
        id = r->report ? r->report->id : NULL;
    } else if (input->descriptor == &dossier__v1__delete_request__descriptor) {
        id = ((const Dossier__V1__DeleteRequest *)(const void *)input)->id;
    } else if (input->descriptor ==
               &dossier__v1__import_text_request__descriptor) {
        id = ((const Dossier__V1__ImportTextRequest *)(const void *)input)->id;
    } else if (input->descriptor ==
               &dossier__v1__revoke_token_request__descriptor) {
        id = ((const Dossier__V1__RevokeTokenRequest *)(const void *)input)->id;
    }
    if ((!id || !*id) && job->audit_id[0]) {
        id = job->audit_id;
    }
    if (id && *id && *n < S_MAX_IDS) {
        text_utf8_copy(buf, 129, id);
        ids[(*n)++] = buf;
    }
}

static void
s_add_id(const char **ids, size_t *n, const char *id) {
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(ids[i], id) == 0) {
            return;
        }
    }
    if (*n < S_MAX_IDS) {
        ids[(*n)++] = id;
    }
}

static dossier_status_t
s_keep_event(recorder_t *self, const Dossier__V1__ChangeEvent *event,
             dossier_error_t *err) {
    if (self->n_events == self->cap_events) {
        size_t cap = self->cap_events ? self->cap_events * 2 : 16;
        s_event_t *events = realloc(self->events, cap * sizeof *events);
        if (!events) {
            return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
        }
        self->events = events;
        self->cap_events = cap;
    }
    size_t size = dossier__v1__change_event__get_packed_size(event);
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__change_event__pack(event, data);
    self->events[self->n_events].data = data;
    self->events[self->n_events].size = size;
    self->n_events++;
    return DOSSIER_OK;
}

dossier_status_t
recorder_record(recorder_t *self, store_batch_t *batch, job_t *job, size_t mark,
                dossier_error_t *err) {
    int64_t now = s_now(self);
    char time_text[32];
    s_iso(now, time_text);
    uint64_t seq = 0;
    dossier_status_t rc = store_audit_next_seq(batch, &seq, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    const char *ids[S_MAX_IDS];
    size_t n_ids = 0;
    char request_id[132];
    s_request_ids(job, ids, &n_ids, request_id);
    size_t cursor = mark;
    store_change_t change;
    while (!job->audit_only && store_batch_change(batch, &cursor, &change)) {
        s_add_id(ids, &n_ids, change.id);
        if (!self->publish) {
            continue;
        }
        Dossier__V1__ChangeEvent event = DOSSIER__V1__CHANGE_EVENT__INIT;
        event.seq = seq;
        event.id = (char *)change.id;
        event.version = change.version;
        event.operation =
            change.deleted
                ? DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_DELETE
                : DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT;
        event.time = time_text;
        event.user = job->user;
        event.country_code = (char *)change.country_code;
        event.year = change.year;
        rc = s_keep_event(self, &event, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
    }
    Dossier__V1__AuditEntry entry = DOSSIER__V1__AUDIT_ENTRY__INIT;
    entry.seq = seq;
    entry.time = time_text;
    entry.user = job->user;
    entry.via = (char *)job->via;
    entry.method = (char *)job->method->full_name;
    entry.ids = (char **)ids;
    entry.n_ids = n_ids;
    entry.code = (int32_t)job->code;
    char message[sizeof job->message];
    text_utf8_copy(message, sizeof message,
                   job->code == DOSSIER_OK ? "" : job->message);
    entry.message = message;
    size_t size = dossier__v1__audit_entry__get_packed_size(&entry);
    uint8_t *packed = malloc(size ? size : 1);
    if (!packed) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__audit_entry__pack(&entry, packed);
    rc = store_audit_put(batch, seq, packed, size, err);
    free(packed);
    if (rc == DOSSIER_OK && !job->audit_only && s_keeps_replies(job) &&
        s_final(job->code)) {
        rc = s_store_reply(batch, job, now, err);
    }
    return rc;
}

/*  Whether a packed audit entry is older than the ISO time arg: entries
    are stamped "YYYY-MM-DDTHH:MM:SS.mmmZ", which order as strings. One
    that does not decode counts as old: nobody can read it anyway, and
    it must not hold back the pruning of the entries after it. */
static bool
s_audit_old(const void *entry, size_t size, void *arg) {
    const char *cutoff = arg;
    Dossier__V1__AuditEntry *e =
        dossier__v1__audit_entry__unpack(NULL, size, entry);
    bool old = !e || strcmp(e->time, cutoff) < 0;
    dossier__v1__audit_entry__free_unpacked(e, NULL);
    return old;
}

/*  Prunes the audit log to its bounds (audit_max_age_days,
    audit_max_entries; 0: none), oldest first. */
static dossier_status_t
s_prune_audit(recorder_t *self, store_batch_t *batch, int64_t now,
              dossier_error_t *err) {
    unsigned days = self->config->audit.max_age_days;
    unsigned max_entries = self->config->audit.max_entries;
    if (!days && !max_entries) {
        return DOSSIER_OK;
    }
    /* Before 1970 (a bound of a century) nothing is old. */
    int64_t before = now - (int64_t)days * 86400 * 1000;
    char cutoff[32];
    s_iso(before > 0 ? before : 0, cutoff);
    size_t deleted = 0;
    dossier_status_t rc =
        store_audit_prune(batch, max_entries ? max_entries : SIZE_MAX,
                          days && before > 0 ? s_audit_old : NULL, cutoff,
                          RECORDER_EXPIRE_PER_BATCH, &deleted, err);
    if (rc == DOSSIER_OK && deleted) {
        log_debug("pruned %zu audit entries", deleted);
    }
    return rc;
}

dossier_status_t
recorder_expire(recorder_t *self, store_batch_t *batch, dossier_error_t *err) {
    int64_t now = s_now(self);
    int64_t ttl_ms = (int64_t)self->config->idempotency_ttl_s * 1000;
    size_t deleted = 0;
    dossier_status_t rc = store_idem_expire(
        batch, now - ttl_ms, self->config->idempotency_max_keys,
        RECORDER_EXPIRE_PER_BATCH, &deleted, err);
    if (rc == DOSSIER_OK && deleted) {
        log_debug("expired %zu idempotency keys", deleted);
    }
    if (rc == DOSSIER_OK) {
        rc = s_prune_audit(self, batch, now, err);
    }
    return rc;
}

void
recorder_publish(recorder_t *self) {
    for (size_t i = 0; self->publish && i < self->n_events; i++) {
        if (self->publish(self->publish_arg, self->events[i].data,
                          self->events[i].size) != 0) {
            log_warn("change event not published: the feed refused it");
        }
    }
    recorder_batch_begin(self);
}
