/*  audit.c: audit entries, idempotency keys and change events. See
    audit.h.

    An idempotency key is stored under user '\0' key, so two users can
    never see each other's replies. Its value (opaque to the store):

        be32 code | be64 current_version | be16 n | method (n bytes)
        | be16 m | message (m bytes) | payload (the rest)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/audit.h"
#include "dossier/v1/reports.pb-c.h"
#include "log.h"
#include "api/methods.h"

#define S_SERVICE "dossier.v1.Reports/"
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

static void
s_put_be(uint8_t *out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
s_get_be(const uint8_t *in, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | in[i];
    }
    return v;
}

/*  Copies src into dst (size bytes with the NUL) as valid UTF-8: an
    invalid byte becomes '?', and a character that does not fit whole is
    left out. Audit entries are protobuf strings that other languages
    refuse to decode when they are not UTF-8, and a request's id or a
    message quoting the request may be anything. */
static void
s_utf8_copy(char *dst, size_t size, const char *src) {
    const unsigned char *s = (const unsigned char *)src;
    size_t out = 0;
    while (*s && out + 1 < size) {
        unsigned char c = *s;
        size_t n = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        size_t k = 1;
        while (n && k < n && (s[k] & 0xC0) == 0x80) {
            k++;
        }
        bool bad = n == 0 || k < n || (c == 0xE0 && s[1] < 0xA0) ||
                   (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
                   (c == 0xF4 && s[1] >= 0x90);
        if (bad) {
            dst[out++] = '?';
            s++;
            continue;
        }
        if (out + n >= size) {
            break;
        }
        memcpy(dst + out, s, n);
        out += n;
        s += n;
    }
    dst[out] = '\0';
}

/* ---- Loop side ---- */

dossier_status_t
audit_take_key(const Dossier__V1__Request *request, job_t *job,
               dossier_error_t *err) {
    job->idempotency_key[0] = '\0';
    for (size_t i = 0; i < request->n_metadata; i++) {
        const Dossier__V1__Request__MetadataEntry *entry = request->metadata[i];
        if (!entry->key || strcmp(entry->key, "idempotency-key") != 0) {
            continue;
        }
        size_t size = entry->value ? strlen(entry->value) : 0;
        if (size == 0 || size > AUDIT_KEY_MAX) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "metadata idempotency-key has %zu bytes; "
                                     "send 1 to %d (a random hex string)",
                                     size, AUDIT_KEY_MAX);
        }
        memcpy(job->idempotency_key, entry->value, size + 1);
    }
    return DOSSIER_OK;
}

job_t *
audit_denied_note(const job_t *job, dossier_status_t code,
                  const char *message) {
    job_t *note = job_new();
    if (!note) {
        return NULL;
    }
    note->audit_only = true;
    note->method = job->method;
    note->request_id = job->request_id;
    memcpy(note->user, job->user, sizeof note->user);
    note->role = job->role;
    note->code = code;
    snprintf(note->message, sizeof note->message, "%s", message);
    return note;
}

/* ---- Worker side: the Audit method ---- */

typedef struct {
    const char *user; /* NULL: any */
    char since[32];   /* "" : any; compared as a prefix-ordered string */
    char method[96];  /* "" : any */
    size_t page_size;
    Dossier__V1__AuditResponse *response;
    dossier_status_t status;
} s_query_t;

/*  since is a date or time of ISO 8601 UTC ("2026-11-27",
    "2026-11-27T20:15", "2026-11-27T20:15:00Z", "...:00.250Z"). Entries
    are stamped "YYYY-MM-DDTHH:MM:SS.mmmZ", so without its 'Z' a valid
    since orders against them as plain strings. */
static dossier_status_t
s_parse_since(const char *since, char out[32], dossier_error_t *err) {
    static const char shape[] = "0000-00-00T00:00:00.000";
    size_t n = strlen(since);
    if (n && since[n - 1] == 'Z') {
        n--;
    }
    bool ok = n >= 10 && n < sizeof shape &&
              (n == 10 || n == 13 || n == 16 || n == 19 || n > 20);
    for (size_t i = 0; ok && i < n; i++) {
        ok = shape[i] == '0' ? since[i] >= '0' && since[i] <= '9'
                             : since[i] == shape[i];
    }
    if (!ok) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "AuditRequest.since %.40s is not an ISO 8601 "
                                 "UTC date or time such as 2026-11-27 or "
                                 "2026-11-27T20:15:00Z",
                                 since);
    }
    memcpy(out, since, n);
    out[n] = '\0';
    return DOSSIER_OK;
}

static bool
s_audit_match(uint64_t seq, const void *data, size_t size, void *arg) {
    s_query_t *q = arg;
    Dossier__V1__AuditEntry *entry =
        dossier__v1__audit_entry__unpack(NULL, size, data);
    if (!entry) {
        log_warn("audit entry %llu is unreadable; skipped",
                 (unsigned long long)seq);
        return true;
    }
    bool match = (!q->user || strcmp(entry->user, q->user) == 0) &&
                 (!q->since[0] || strcmp(entry->time, q->since) >= 0) &&
                 (!q->method[0] || strcmp(entry->method, q->method) == 0);
    if (!match) {
        dossier__v1__audit_entry__free_unpacked(entry, NULL);
        return true;
    }
    Dossier__V1__AuditResponse *r = q->response;
    Dossier__V1__AuditEntry **entries =
        realloc(r->entries, (r->n_entries + 1) * sizeof *entries);
    if (!entries) {
        dossier__v1__audit_entry__free_unpacked(entry, NULL);
        q->status = DOSSIER_RESOURCE_EXHAUSTED;
        return false;
    }
    r->entries = entries;
    r->entries[r->n_entries++] = entry;
    return r->n_entries < q->page_size;
}

static void
s_free_entries(Dossier__V1__AuditResponse *response) {
    for (size_t i = 0; i < response->n_entries; i++) {
        dossier__v1__audit_entry__free_unpacked(response->entries[i], NULL);
    }
    free(response->entries);
}

dossier_status_t
handle_audit(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__AuditRequest *request = (void *)job->input;
    unsigned max_page = env->config && env->config->max_page_size
                            ? env->config->max_page_size
                            : STORE_MAX_PAGE_SIZE;
    if (request->page_size > max_page) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "AuditRequest.page_size %u is over the "
                                 "server's max_page_size %u",
                                 request->page_size, max_page);
    }
    s_query_t q = {
        .user = request->user[0] ? request->user : NULL,
        .page_size =
            request->page_size ? request->page_size : AUDIT_DEFAULT_PAGE_SIZE,
    };
    if (request->since[0] &&
        s_parse_since(request->since, q.since, err) != DOSSIER_OK) {
        return DOSSIER_INVALID_ARGUMENT;
    }
    if (request->method[0]) {
        snprintf(q.method, sizeof q.method, "%s%s",
                 strchr(request->method, '/') ? "" : S_SERVICE,
                 request->method);
    }
    uint64_t from = 1;
    if (request->page_token[0]) {
        char *end = NULL;
        unsigned long long v = request->page_token[0] == 's'
                                   ? strtoull(request->page_token + 1, &end, 10)
                                   : 0;
        if (!end || *end || v == 0) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "AuditRequest.page_token is not one "
                                     "this server issued");
        }
        from = v;
    }
    Dossier__V1__AuditResponse response = DOSSIER__V1__AUDIT_RESPONSE__INIT;
    q.response = &response;
    q.status = DOSSIER_OK;
    uint64_t next = 0;
    dossier_status_t rc = store_audit_scan(env->store, from, AUDIT_MAX_SCAN,
                                           s_audit_match, &q, &next, err);
    if (rc == DOSSIER_OK && q.status != DOSSIER_OK) {
        rc = dossier_error_set(err, q.status, "out of memory");
    }
    char token[32] = "";
    if (rc == DOSSIER_OK) {
        if (next) {
            snprintf(token, sizeof token, "s%llu", (unsigned long long)next);
        }
        response.next_page_token = token;
        rc = job_set_payload(job, &response.base, err);
    }
    s_free_entries(&response);
    return rc;
}

/* ---- Writer side ---- */

typedef struct {
    uint8_t *data;
    size_t size;
} s_event_t;

struct audit_t {
    const config_t *config;
    feed_t *feed;
    s_event_t *events;
    size_t n_events, cap_events;
};

audit_t *
audit_new(const config_t *config, feed_t *feed) {
    audit_t *self = calloc(1, sizeof *self);
    if (self) {
        self->config = config;
        self->feed = feed;
    }
    return self;
}

void
audit_batch_begin(audit_t *self) {
    for (size_t i = 0; i < self->n_events; i++) {
        free(self->events[i].data);
    }
    self->n_events = 0;
}

void
audit_destroy(audit_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    audit_t *self = *self_p;
    audit_batch_begin(self);
    free(self->events);
    free(self);
    *self_p = NULL;
}

/*  user '\0' key, into buf (at least sizeof job->user + AUDIT_KEY_MAX +
    1 bytes). Returns its size. */
static size_t
s_idem_key(const job_t *job, uint8_t *buf) {
    size_t u = strlen(job->user);
    size_t k = strlen(job->idempotency_key);
    memcpy(buf, job->user, u);
    buf[u] = '\0';
    memcpy(buf + u + 1, job->idempotency_key, k);
    return u + 1 + k;
}

bool
audit_replay(audit_t *self, store_batch_t *batch, job_t *job) {
    (void)self;
    if (!job->idempotency_key[0]) {
        return false;
    }
    uint8_t key[sizeof job->user + AUDIT_KEY_MAX + 1];
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
    /* Parse what audit_record wrote; damage is a failed lookup. */
    size_t at = 14;
    size_t n = size >= at ? (size_t)s_get_be(value + 12, 2) : 0;
    size_t m = size >= at + n + 2 ? (size_t)s_get_be(value + at + n, 2) : 0;
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
    dossier_status_t code = (dossier_status_t)s_get_be(value, 4);
    job->current_version = s_get_be(value + 4, 8);
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
    s_put_be(value, (uint32_t)job->code, 4);
    s_put_be(value + 4, job->current_version, 8);
    s_put_be(value + 12, n, 2);
    memcpy(value + 14, job->method->full_name, n);
    s_put_be(value + 14 + n, m, 2);
    memcpy(value + 16 + n, job->message, m);
    if (p) {
        memcpy(value + 16 + n + m, job->payload, p);
    }
    uint8_t key[sizeof job->user + AUDIT_KEY_MAX + 1];
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
    }
    if (id && *id && *n < S_MAX_IDS) {
        s_utf8_copy(buf, 129, id);
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
s_keep_event(audit_t *self, const Dossier__V1__ChangeEvent *event,
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
audit_record(audit_t *self, store_batch_t *batch, job_t *job, size_t mark,
             dossier_error_t *err) {
    int64_t now = s_wall_ms();
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
        if (!self->feed) {
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
    entry.method = (char *)job->method->full_name;
    entry.ids = (char **)ids;
    entry.n_ids = n_ids;
    entry.code = (int32_t)job->code;
    char message[sizeof job->message];
    s_utf8_copy(message, sizeof message,
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
    if (rc == DOSSIER_OK && !job->audit_only && job->idempotency_key[0] &&
        s_final(job->code)) {
        rc = s_store_reply(batch, job, now, err);
    }
    return rc;
}

dossier_status_t
audit_expire(audit_t *self, store_batch_t *batch, dossier_error_t *err) {
    int64_t ttl_ms = (int64_t)self->config->idempotency_ttl_s * 1000;
    size_t deleted = 0;
    dossier_status_t rc = store_idem_expire(
        batch, s_wall_ms() - ttl_ms, self->config->idempotency_max_keys,
        AUDIT_EXPIRE_PER_BATCH, &deleted, err);
    if (rc == DOSSIER_OK && deleted) {
        log_debug("expired %zu idempotency keys", deleted);
    }
    return rc;
}

void
audit_publish(audit_t *self) {
    for (size_t i = 0; self->feed && i < self->n_events; i++) {
        if (feed_publish(self->feed, self->events[i].data,
                         self->events[i].size) != 0) {
            log_warn("change event not published: the feed refused it");
        }
    }
    audit_batch_begin(self);
}
