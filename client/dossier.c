/*  dossier.c: libdossier, the C client (see dossier.h for the contract).

    One call is a loop of attempts bounded by the call's deadline. An
    attempt opens a DEALER socket on the current endpoint if none is open,
    sends [empty delimiter][Request], first waiting until ZeroMQ has a
    connection if it has none (ZMQ_IMMEDIATE makes the socket take a
    message only then, so nothing is queued for a server that is not
    there), and waits for the Response with that request's id; replies
    with other ids are late answers to earlier attempts and are dropped.
    Each attempt may spend an equal share of the time left on connecting,
    so every endpoint gets a turn before the deadline. A socket monitor
    reports when the connection dies (heartbeats time out, the server
    exits): the socket is closed and the next endpoint tried, for calls
    safe to retry (dossier.h) also once the request was sent. Closing the
    socket on every failure also throws away whatever the old connection
    still had queued (Lazy Pirate, zguide chapter 4).
 */
#include "apispec.h"
#include "dynpb.h"
#include "dossier.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#define S_SERVICE APISPEC_SERVICE
#define S_MAX_REPLY_BYTES (256LL * 1024 * 1024)
#define S_CURVE_Z85_LEN 40
#define S_CURVE_KEY_LEN 32
/* ZMQ_HEARTBEAT_TTL is carried in deciseconds in a 16-bit field. */
#define S_MAX_HEARTBEAT_TTL_MS 6553500

struct dossier_client {
    void *ctx;
    char **endpoints;
    size_t n_endpoints;
    size_t current; /* index of the endpoint in use or tried next */
    int timeout_ms;
    int retries;
    int heartbeat_ivl_ms;
    bool curve;
    uint8_t curve_server_key[S_CURVE_KEY_LEN];
    uint8_t curve_public_key[S_CURVE_KEY_LEN];
    uint8_t curve_secret_key[S_CURVE_KEY_LEN];
    char *client_name;
    void *dealer;  /* NULL when closed */
    void *monitor; /* PAIR socket receiving the dealer's events */
    /* Their ZMQ_FDs: readable when ZeroMQ has signalled the socket since
       its state was last read (ZMQ_EVENTS, recv, send). */
    int dealer_fd;
    int monitor_fd;
    /* The monitor may hold events its ZMQ_FD no longer signals:
       s_wait_writable's zmq_poll processed its commands, or its fd fired
       and a reply ended the wait before it was read. The next reply wait
       drains it before it sleeps. */
    bool monitor_unread;
    uint64_t next_id;
    /* Pipelined calls (dossier_call_start): how many are unfinished, the
       replies that came for them while another was awaited, and the
       connection they went out on (bumped whenever the socket closes). */
    size_t n_pending;
    Dossier__V1__Response **stash;
    size_t n_stash;
    uint64_t epoch;
    bool request_sent;        /* by the last call; see dossier.h */
    uint64_t current_version; /* of the last reply; see dossier.h */
};

/* How one wait on the socket ended. */
typedef enum {
    S_WAIT_READY,     /* writable, or the reply arrived */
    S_WAIT_TIMEOUT,   /* the time given ran out */
    S_WAIT_LOST,      /* the connection died */
    S_WAIT_AUTH,      /* the CURVE handshake was refused */
    S_WAIT_MALFORMED, /* a reply that is not a Response */
    S_WAIT_ERROR,     /* ZeroMQ failed */
} s_wait_t;

static int64_t
s_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
s_strndup_trim(const char *s, size_t n) {
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    char *copy = malloc(n + 1);
    if (copy != NULL) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

static void
s_free_endpoints(dossier_client_t *c) {
    for (size_t i = 0; i < c->n_endpoints; i++) {
        free(c->endpoints[i]);
    }
    free(c->endpoints);
    c->endpoints = NULL;
    c->n_endpoints = 0;
}

static dossier_status_t
s_parse_endpoints(dossier_client_t *c, const char *list, dossier_error_t *err) {
    size_t cap = 1;
    for (const char *p = list; *p; p++) {
        cap += *p == ',';
    }
    c->endpoints = calloc(cap, sizeof *c->endpoints);
    if (c->endpoints == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    const char *start = list;
    for (;;) {
        const char *end = strchr(start, ',');
        size_t n = end ? (size_t)(end - start) : strlen(start);
        char *ep = s_strndup_trim(start, n);
        if (ep == NULL) {
            return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
        }
        if (*ep == '\0') {
            free(ep);
        } else if (strstr(ep, "://") == NULL) {
            dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                              "bad endpoint '%s': expected "
                              "transport://address, as tcp://127.0.0.1:7531",
                              ep);
            free(ep);
            return DOSSIER_INVALID_ARGUMENT;
        } else {
            c->endpoints[c->n_endpoints++] = ep;
        }
        if (end == NULL) {
            break;
        }
        start = end + 1;
    }
    if (c->n_endpoints == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "no endpoint given");
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_curve_key(const char *what, const char *z85, uint8_t *key,
            dossier_error_t *err) {
    if (strlen(z85) != S_CURVE_Z85_LEN || zmq_z85_decode(key, z85) == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the CURVE %s must be 40 Z85 characters",
                                 what);
    }
    return DOSSIER_OK;
}

static dossier_status_t
s_apply_options(dossier_client_t *c, const dossier_options_t *o,
                dossier_error_t *err) {
    if (o->timeout_ms <= 0 || o->retries < 0 || o->heartbeat_ivl_ms < 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "bad options: timeout_ms must be > 0, "
                                 "retries and heartbeat_ivl_ms >= 0");
    }
    c->timeout_ms = o->timeout_ms;
    c->retries = o->retries;
    c->heartbeat_ivl_ms = o->heartbeat_ivl_ms;
    int keys = (o->curve_server_key != NULL) + (o->curve_public_key != NULL) +
               (o->curve_secret_key != NULL);
    if (keys != 0 && keys != 3) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "CURVE needs all three keys: the server's "
                                 "public key and the client's key pair");
    }
    if (keys == 3) {
        if (!zmq_has("curve")) {
            return dossier_error_set(err, DOSSIER_UNIMPLEMENTED,
                                     "this libzmq was built without CURVE");
        }
        dossier_status_t rc;
        if ((rc = s_curve_key("server key", o->curve_server_key,
                              c->curve_server_key, err)) != DOSSIER_OK ||
            (rc = s_curve_key("public key", o->curve_public_key,
                              c->curve_public_key, err)) != DOSSIER_OK ||
            (rc = s_curve_key("secret key", o->curve_secret_key,
                              c->curve_secret_key, err)) != DOSSIER_OK) {
            return rc;
        }
        c->curve = true;
    }
    const char *name =
        o->client_name ? o->client_name : "libdossier/" DOSSIER_VERSION;
    c->client_name = strdup(name);
    if (c->client_name == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    return DOSSIER_OK;
}

/* ---- Certificates ---- */

#define S_MAX_CERT_BYTES 65536

/*  The value of "key = value" in line, unquoted, into out (41 bytes);
    false when line is not that key or the value is not 40 characters. */
static bool
s_cert_value(const char *line, const char *key, char *out) {
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0) {
        return false;
    }
    line += n;
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    if (*line++ != '=') {
        return false;
    }
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    char quote = (*line == '"' || *line == '\'') ? *line++ : '\0';
    size_t len = 0;
    while (line[len] && line[len] != quote && line[len] != '\n' &&
           line[len] != '\r' && (quote || line[len] != ' ')) {
        len++;
    }
    if (len != S_CURVE_Z85_LEN) {
        return false;
    }
    uint8_t binary[S_CURVE_KEY_LEN];
    memcpy(out, line, len);
    out[len] = '\0';
    return zmq_z85_decode(binary, out) != NULL;
}

dossier_status_t
dossier_certificate_read(const char *path, char *public_key, char *secret_key,
                         dossier_error_t *err) {
    if (path == NULL || public_key == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_certificate_read: NULL argument");
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND, "cannot read %s: %s",
                                 path, strerror(errno));
    }
    char public_text[S_CURVE_Z85_LEN + 1] = "";
    char secret_text[S_CURVE_Z85_LEN + 1] = "";
    bool in_curve = false;
    size_t total = 0;
    char line[512];
    while (total < S_MAX_CERT_BYTES && fgets(line, sizeof line, f) != NULL) {
        total += strlen(line);
        if (line[0] != ' ' && line[0] != '\t') {
            /* A section name ("curve", "metadata") or a comment. */
            if (line[0] != '#' && line[0] != '\n') {
                in_curve = strncmp(line, "curve", 5) == 0 &&
                           (line[5] == '\n' || line[5] == '\r' ||
                            line[5] == '\0' || line[5] == ' ');
            }
            continue;
        }
        if (!in_curve) {
            continue;
        }
        const char *text = line;
        while (*text == ' ' || *text == '\t') {
            text++;
        }
        char value[S_CURVE_Z85_LEN + 1];
        if (s_cert_value(text, "public-key", value)) {
            memcpy(public_text, value, sizeof value);
        } else if (s_cert_value(text, "secret-key", value)) {
            memcpy(secret_text, value, sizeof value);
        }
    }
    fclose(f);
    /* czmq writes a secret of zeros into a certificate that has none. */
    static const char zero[] = "0000000000000000000000000000000000000000";
    if (strcmp(secret_text, zero) == 0) {
        secret_text[0] = '\0';
    }
    dossier_status_t rc = DOSSIER_OK;
    if (public_text[0] == '\0') {
        rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                               "%s is not a CURVE certificate: no 40-character "
                               "Z85 public-key in its curve section",
                               path);
    } else if (secret_key != NULL && secret_text[0] == '\0') {
        rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                               "%s has no secret key: give the NAME.key_secret "
                               "file, not the public NAME.key",
                               path);
    } else {
        memcpy(public_key, public_text, sizeof public_text);
        if (secret_key != NULL) {
            memcpy(secret_key, secret_text, sizeof secret_text);
        }
    }
    explicit_bzero(secret_text, sizeof secret_text);
    explicit_bzero(line, sizeof line);
    return rc;
}

void
dossier_options_init(dossier_options_t *options) {
    memset(options, 0, sizeof *options);
    options->timeout_ms = DOSSIER_DEFAULT_TIMEOUT_MS;
    options->retries = DOSSIER_DEFAULT_RETRIES;
    options->heartbeat_ivl_ms = DOSSIER_DEFAULT_HEARTBEAT_IVL_MS;
}

/*  One ZeroMQ context for all the clients of a process, created with the
    first and terminated with the last. Each context has its own I/O
    thread: with one per client, 16 clients of one process ran 16 I/O
    threads on 2 cores and spent their time waking them (dossier-bench
    --raw, Get at c16: 34,700 ops/s on one context, 25,200 with one per
    client). Sockets close with linger 0, so destroying a client never
    waits on another's sockets. A child process after fork() cannot use
    its parent's context: it gets its own (the parent's is left alone). */
static pthread_mutex_t s_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx;
static size_t s_ctx_users;
static pid_t s_ctx_pid;
static atomic_ullong s_monitor_seq;

static void *
s_ctx_acquire(void) {
    pthread_mutex_lock(&s_ctx_lock);
    if (s_ctx != NULL && s_ctx_pid != getpid()) {
        s_ctx = NULL; /* the parent's, inherited through fork() */
        s_ctx_users = 0;
    }
    if (s_ctx == NULL) {
        s_ctx = zmq_ctx_new();
        s_ctx_pid = getpid();
    }
    void *ctx = s_ctx;
    if (ctx != NULL) {
        s_ctx_users++;
    }
    pthread_mutex_unlock(&s_ctx_lock);
    return ctx;
}

static void
s_ctx_release(void *ctx) {
    pthread_mutex_lock(&s_ctx_lock);
    bool last = ctx == s_ctx && s_ctx_users > 0 && --s_ctx_users == 0;
    if (last) {
        s_ctx = NULL;
    }
    pthread_mutex_unlock(&s_ctx_lock);
    if (last) {
        zmq_ctx_term(ctx);
    }
}

dossier_status_t
dossier_client_new(const char *endpoints, const dossier_options_t *options,
                   dossier_client_t **client_p, dossier_error_t *err) {
    if (endpoints == NULL || client_p == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_client_new: NULL argument");
    }
    dossier_options_t defaults;
    if (options == NULL) {
        dossier_options_init(&defaults);
        options = &defaults;
    }
    dossier_client_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    dossier_status_t rc = s_parse_endpoints(c, endpoints, err);
    if (rc == DOSSIER_OK) {
        rc = s_apply_options(c, options, err);
    }
    if (rc == DOSSIER_OK) {
        c->ctx = s_ctx_acquire();
        if (c->ctx == NULL) {
            rc = dossier_error_set(err, DOSSIER_INTERNAL,
                                   "cannot create a ZeroMQ context: %s",
                                   zmq_strerror(errno));
        }
    }
    if (rc != DOSSIER_OK) {
        dossier_client_destroy(&c);
        return rc;
    }
    c->next_id = 1;
    *client_p = c;
    return DOSSIER_OK;
}

static void
s_stash_clear(dossier_client_t *c) {
    for (size_t i = 0; i < c->n_stash; i++) {
        dossier__v1__response__free_unpacked(c->stash[i], NULL);
    }
    c->n_stash = 0;
}

static void
s_socket_close(dossier_client_t *c) {
    /* Replies still owed on this connection will never come. */
    c->epoch++;
    s_stash_clear(c);
    if (c->dealer != NULL) {
        zmq_socket_monitor(c->dealer, NULL, 0);
        zmq_close(c->dealer);
        c->dealer = NULL;
    }
    if (c->monitor != NULL) {
        zmq_close(c->monitor);
        c->monitor = NULL;
    }
}

void
dossier_client_destroy(dossier_client_t **client_p) {
    if (client_p == NULL || *client_p == NULL) {
        return;
    }
    dossier_client_t *c = *client_p;
    s_socket_close(c);
    free(c->stash);
    if (c->ctx != NULL) {
        s_ctx_release(c->ctx);
    }
    s_free_endpoints(c);
    free(c->client_name);
    /* The secret key should not outlive the client in freed memory. */
    explicit_bzero(c->curve_secret_key, sizeof c->curve_secret_key);
    free(c);
    *client_p = NULL;
}

bool
dossier_client_request_sent(const dossier_client_t *client) {
    return client != NULL && client->request_sent;
}

uint64_t
dossier_client_current_version(const dossier_client_t *client) {
    return client != NULL ? client->current_version : 0;
}

const char *
dossier_client_endpoint(const dossier_client_t *client) {
    if (client == NULL) {
        return NULL;
    }
    return client->endpoints[client->current];
}

static int
s_setopt_int(void *socket, int option, int value) {
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

static dossier_status_t
s_socket_open(dossier_client_t *c, dossier_error_t *err) {
    const char *ep = c->endpoints[c->current];
    c->dealer = zmq_socket(c->ctx, ZMQ_DEALER);
    c->monitor = zmq_socket(c->ctx, ZMQ_PAIR);
    if (c->dealer == NULL || c->monitor == NULL) {
        goto fail_zmq;
    }
    int64_t max_bytes = S_MAX_REPLY_BYTES;
    if (s_setopt_int(c->dealer, ZMQ_LINGER, 0) != 0 ||
        s_setopt_int(c->monitor, ZMQ_LINGER, 0) != 0 ||
        s_setopt_int(c->dealer, ZMQ_IMMEDIATE, 1) != 0 ||
        s_setopt_int(c->dealer, ZMQ_CONNECT_TIMEOUT, c->timeout_ms) != 0 ||
        zmq_setsockopt(c->dealer, ZMQ_MAXMSGSIZE, &max_bytes,
                       sizeof max_bytes) != 0) {
        goto fail_zmq;
    }
    if (c->heartbeat_ivl_ms > 0) {
        int ttl = c->heartbeat_ivl_ms * 3;
        if (ttl > S_MAX_HEARTBEAT_TTL_MS || ttl < c->heartbeat_ivl_ms) {
            ttl = S_MAX_HEARTBEAT_TTL_MS;
        }
        if (s_setopt_int(c->dealer, ZMQ_HEARTBEAT_IVL, c->heartbeat_ivl_ms) !=
                0 ||
            s_setopt_int(c->dealer, ZMQ_HEARTBEAT_TIMEOUT,
                         c->heartbeat_ivl_ms * 2) != 0 ||
            s_setopt_int(c->dealer, ZMQ_HEARTBEAT_TTL, ttl) != 0) {
            goto fail_zmq;
        }
    }
    if (c->curve &&
        (zmq_setsockopt(c->dealer, ZMQ_CURVE_SERVERKEY, c->curve_server_key,
                        S_CURVE_KEY_LEN) != 0 ||
         zmq_setsockopt(c->dealer, ZMQ_CURVE_PUBLICKEY, c->curve_public_key,
                        S_CURVE_KEY_LEN) != 0 ||
         zmq_setsockopt(c->dealer, ZMQ_CURVE_SECRETKEY, c->curve_secret_key,
                        S_CURVE_KEY_LEN) != 0)) {
        goto fail_zmq;
    }
    char name[64];
    /* Unique in the process: the context is shared, and a closed
       monitor's name is released only later by ZeroMQ's reaper. */
    snprintf(name, sizeof name, "inproc://dossier-monitor-%llu",
             (unsigned long long)atomic_fetch_add(&s_monitor_seq, 1));
    if (zmq_socket_monitor(c->dealer, name,
                           ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0 ||
        zmq_connect(c->monitor, name) != 0) {
        goto fail_zmq;
    }
    size_t fd_size = sizeof c->dealer_fd;
    if (zmq_getsockopt(c->dealer, ZMQ_FD, &c->dealer_fd, &fd_size) != 0) {
        goto fail_zmq;
    }
    fd_size = sizeof c->monitor_fd;
    if (zmq_getsockopt(c->monitor, ZMQ_FD, &c->monitor_fd, &fd_size) != 0) {
        goto fail_zmq;
    }
    if (zmq_connect(c->dealer, ep) != 0) {
        int e = errno;
        s_socket_close(c);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot connect to '%s': %s", ep,
                                 zmq_strerror(e));
    }
    return DOSSIER_OK;

fail_zmq : {
    int e = errno;
    s_socket_close(c);
    return dossier_error_set(err, DOSSIER_INTERNAL,
                             "cannot set up a socket for %s: %s", ep,
                             zmq_strerror(e));
}
}

/* Reads one monitor event into *event (0 if it is not one). Returns 0,
   or -1 when the monitor had none. */
static int
s_monitor_event(dossier_client_t *c, uint16_t *event) {
    *event = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, c->monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    if (zmq_msg_size(&msg) >= 6) {
        memcpy(event, zmq_msg_data(&msg), sizeof *event);
    }
    /* The second frame names the endpoint; we know it already. */
    while (zmq_msg_more(&msg)) {
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, c->monitor, ZMQ_DONTWAIT) < 0) {
            break;
        }
    }
    zmq_msg_close(&msg);
    return 0;
}

static s_wait_t
s_event_outcome(uint16_t event) {
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        return S_WAIT_AUTH;
    }
    if (event == ZMQ_EVENT_DISCONNECTED ||
        event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        return S_WAIT_LOST;
    }
    return S_WAIT_READY; /* nothing that ends the wait */
}

static int
s_poll_timeout(int64_t until) {
    int64_t left = until - s_now_ms();
    return left > 0 ? (int)left : 0;
}

/* Waits until the dealer has a connection to send on. Events from before
   that (an earlier connection lost) do not matter. */
static s_wait_t
s_wait_writable(dossier_client_t *c, int64_t until) {
    s_wait_t outcome = S_WAIT_TIMEOUT;
    c->monitor_unread = true;
    for (;;) {
        zmq_pollitem_t items[] = {{c->dealer, 0, ZMQ_POLLOUT, 0},
                                  {c->monitor, 0, ZMQ_POLLIN, 0}};
        int timeout = s_poll_timeout(until);
        int rc = zmq_poll(items, 2, timeout);
        if (rc < 0 && errno != EINTR) {
            return S_WAIT_ERROR;
        }
        if (rc > 0 && (items[0].revents & ZMQ_POLLOUT)) {
            return S_WAIT_READY;
        }
        uint16_t event;
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN) &&
            s_monitor_event(c, &event) == 0) {
            if (s_event_outcome(event) == S_WAIT_AUTH) {
                outcome = S_WAIT_AUTH; /* keep waiting: it may recover */
            }
            continue;
        }
        if (timeout == 0) {
            return outcome;
        }
    }
}

/* Receives one whole message from the dealer; *body_p gets its last
   frame (the Response: the empty delimiter comes first). */
static int
s_recv_body(dossier_client_t *c, zmq_msg_t *body) {
    zmq_msg_init(body);
    for (;;) {
        zmq_msg_close(body);
        zmq_msg_init(body);
        if (zmq_msg_recv(body, c->dealer, ZMQ_DONTWAIT) < 0) {
            return -1;
        }
        if (!zmq_msg_more(body)) {
            return 0;
        }
    }
}

/* The ZMQ_EVENTS of socket (ZMQ_POLLIN, ZMQ_POLLOUT), or -1. Reading
   them processes the socket's pending commands, which clears its ZMQ_FD
   until ZeroMQ signals it again. */
static int
s_events(void *socket) {
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) == 0 ? events
                                                                   : -1;
}

/* Reads every event the monitor holds. Returns how the first that ends a
   wait ends it, or S_WAIT_READY when none does. */
static s_wait_t
s_monitor_drain(dossier_client_t *c) {
    s_wait_t outcome = S_WAIT_READY;
    int events;
    uint16_t event;
    while ((events = s_events(c->monitor)) > 0 && (events & ZMQ_POLLIN) &&
           s_monitor_event(c, &event) == 0) {
        if (outcome == S_WAIT_READY) {
            outcome = s_event_outcome(event);
        }
    }
    return events < 0 ? S_WAIT_ERROR : outcome;
}

/* Waits for the Response to request id until the deadline.

   This is every call's wait, so it does with as few system calls as it
   can what zmq_poll on the dealer and the monitor would do: zmq_poll
   asks both sockets' ZMQ_EVENTS before and after it sleeps (each a
   poll() and a getpid() inside ZeroMQ), this asks the dealer's only and
   the monitor's when its ZMQ_FD says something came. That is sound
   because a socket's ZMQ_FD stays readable until its commands are
   processed, and s_monitor_drain reads every event whenever it
   processes them. */
static s_wait_t
s_wait_reply(dossier_client_t *c, uint64_t id, int64_t deadline,
             Dossier__V1__Response **response_p) {
    for (;;) {
        /* A reply that arrived before the connection died still counts:
           read the dealer before the monitor. */
        int events = s_events(c->dealer);
        if (events < 0) {
            return S_WAIT_ERROR;
        }
        if (events & ZMQ_POLLIN) {
            zmq_msg_t body;
            if (s_recv_body(c, &body) != 0) {
                zmq_msg_close(&body);
                continue;
            }
            Dossier__V1__Response *response = dossier__v1__response__unpack(
                NULL, zmq_msg_size(&body), zmq_msg_data(&body));
            zmq_msg_close(&body);
            if (response == NULL) {
                return S_WAIT_MALFORMED;
            }
            if (response->id != id) {
                /* A pipelined call's reply, kept for it, or a late reply
                   to an earlier attempt (at most one reply is kept per
                   unfinished pipelined call). */
                if (c->n_stash < c->n_pending) {
                    c->stash[c->n_stash++] = response;
                } else {
                    dossier__v1__response__free_unpacked(response, NULL);
                }
                continue;
            }
            *response_p = response;
            return S_WAIT_READY;
        }
        if (c->monitor_unread) {
            c->monitor_unread = false;
            s_wait_t outcome = s_monitor_drain(c);
            if (outcome != S_WAIT_READY) {
                return outcome;
            }
        }
        int timeout = s_poll_timeout(deadline);
        if (timeout == 0) {
            return S_WAIT_TIMEOUT;
        }
        struct pollfd fds[] = {{c->dealer_fd, POLLIN, 0},
                               {c->monitor_fd, POLLIN, 0}};
        int rc = poll(fds, 2, timeout);
        if (rc < 0 && errno != EINTR) {
            return S_WAIT_ERROR;
        }
        c->monitor_unread = rc > 0 && fds[1].revents != 0;
    }
}

/* 128 random bits as 32 hex digits. */
static void
s_random_hex(char out[33]) {
    uint8_t bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        got += (size_t)n;
    }
    if (got < sizeof bytes) {
        /* No kernel entropy source: still unique enough per process. */
        static unsigned counter; /* atomically bumped: clients run in
                                     many threads */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t mix[2] = {
            (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
            ((uint64_t)getpid() << 32) ^
                __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED)};
        memcpy(bytes, mix, sizeof bytes);
    }
    for (size_t i = 0; i < sizeof bytes; i++) {
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    }
}

static void
s_next_endpoint(dossier_client_t *c) {
    s_socket_close(c);
    c->current = (c->current + 1) % c->n_endpoints;
}

/* Sends the envelope with a fresh id. Returns 0, or -1 when the socket
   could not take it (no connection after all). */
static int
s_send(dossier_client_t *c, Dossier__V1__Request *env, uint8_t *buf,
       size_t *size_io) {
    env->id = c->next_id++;
    size_t size = dossier__v1__request__pack(env, buf);
    *size_io = size;
    if (zmq_send(c->dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) != 0) {
        return -1;
    }
    if (zmq_send(c->dealer, buf, size, ZMQ_DONTWAIT) != (int)size) {
        return -1;
    }
    return 0;
}

/* Turns a matched Response into the call's result. */
static dossier_status_t
s_finish(Dossier__V1__Response *response, const char *method,
         const ProtobufCMessageDescriptor *response_type,
         ProtobufCMessage **response_p, dossier_error_t *err) {
    int code = response->code;
    if (code != DOSSIER_OK) {
        const char *msg = response->message && *response->message
                              ? response->message
                              : dossier_strerror(code);
        if (code < 0 || code > DOSSIER_UNAUTHENTICATED) {
            return dossier_error_set(err, DOSSIER_UNKNOWN,
                                     "server answered code %d: %s", code, msg);
        }
        return dossier_error_set(err, (dossier_status_t)code, "%s", msg);
    }
    /* protobuf-c's unpack recurses once per level of nesting, and takes a
       whole struct per submessage however short on the wire: a reply of
       a type that nests itself (one described at run time, dynpb.h) must
       not reach it deeper or bigger than this. */
    size_t len = response->payload.len;
    size_t budget =
        len > (SIZE_MAX - (64u << 20)) / 64 ? SIZE_MAX : (64u << 20) + len * 64;
    if (!dynpb_wire_bounded(response_type, response->payload.data, len,
                            DYNPB_MAX_DEPTH, budget)) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "the reply to %s nests messages deeper than "
                                 "%d levels or is too large once decoded",
                                 method, DYNPB_MAX_DEPTH);
    }
    ProtobufCMessage *message = protobuf_c_message_unpack(
        response_type, NULL, response->payload.len, response->payload.data);
    if (message == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "cannot decode the reply to %s as %s", method,
                                 response_type->name);
    }
    if (response_p != NULL) {
        *response_p = message;
    } else {
        protobuf_c_message_free_unpacked(message, NULL);
    }
    return DOSSIER_OK;
}

/* One call's request, packed once for all its attempts. */
typedef struct {
    char full[128];       /* "dossier.v1.Reports/Get" */
    bool no_side_effects; /* a read: sent without an idempotency key */
    bool retry_safe;
    uint8_t *payload;
    char key[33];
    /* "client", the caller's entries, and our idempotency key. */
    Dossier__V1__Request__MetadataEntry *entries;
    Dossier__V1__Request__MetadataEntry **metadata;
    Dossier__V1__Request env;
    uint8_t *buf; /* the packed envelope, sized for any attempt */
} s_call_t;

static void
s_call_release(s_call_t *call) {
    free(call->buf);
    free(call->payload);
    free(call->entries);
    free(call->metadata);
    call->buf = NULL;
    call->payload = NULL;
    call->entries = NULL;
    call->metadata = NULL;
}

/* Fills call for method with size bytes of payload (taken: freed by
   s_call_release, also on failure) and the caller's n_extra metadata
   entries (borrowed until s_call_release). call must not move afterwards
   (its envelope points into it). */
static dossier_status_t
s_call_prepare_packed(dossier_client_t *c, const char *method, uint8_t *payload,
                      size_t size, const dossier_metadata_t *extra,
                      size_t n_extra, s_call_t *call, dossier_error_t *err) {
    memset(call, 0, sizeof *call);
    call->payload = payload;
    int n = snprintf(call->full, sizeof call->full, "%s%s",
                     strchr(method, '/') ? "" : S_SERVICE "/", method);
    if (n < 0 || (size_t)n >= sizeof call->full) {
        s_call_release(call);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "method name too long");
    }
    /* The method's options in reports.proto decide (common/apispec.h):
       a read (NO_SIDE_EFFECTS) is sent as it is and resent freely; a
       write (IDEMPOTENT) carries an idempotency key, so that the server
       answers a resent one with its first reply; anything else (Backup,
       a method this build does not know) is never resent. */
    const apispec_method_t *spec = apispec_find(call->full);
    call->no_side_effects =
        spec && spec->idempotency == APISPEC_NO_SIDE_EFFECTS;
    call->retry_safe = apispec_retry_safe(spec);

    size_t cap = n_extra + 2;
    call->entries = calloc(cap, sizeof *call->entries);
    call->metadata = calloc(cap, sizeof *call->metadata);
    if (call->entries == NULL || call->metadata == NULL) {
        s_call_release(call);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    size_t used = 0;
    bool has_key = false;
    for (size_t i = 0; i < cap; i++) {
        dossier__v1__request__metadata_entry__init(&call->entries[i]);
        call->metadata[i] = &call->entries[i];
    }
    call->entries[used].key = "client";
    call->entries[used++].value = c->client_name;
    for (size_t i = 0; i < n_extra; i++) {
        if (extra[i].key == NULL || extra[i].value == NULL) {
            s_call_release(call);
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "metadata entry %zu has a NULL key or "
                                     "value",
                                     i);
        }
        has_key = has_key || strcmp(extra[i].key, "idempotency-key") == 0;
        call->entries[used].key = (char *)extra[i].key;
        call->entries[used++].value = (char *)extra[i].value;
    }
    if (!call->no_side_effects && !has_key) {
        /* One key per logical call, the same on every attempt. */
        s_random_hex(call->key);
        call->entries[used].key = "idempotency-key";
        call->entries[used++].value = call->key;
    }
    Dossier__V1__Request *env = &call->env;
    dossier__v1__request__init(env);
    env->method = call->full;
    env->payload.data = call->payload;
    env->payload.len = size;
    env->metadata = call->metadata;
    env->n_metadata = used;
    /* The envelope's size barely changes between attempts (id and
       deadline are varints): size the buffer for the largest. */
    env->id = UINT64_MAX;
    env->deadline_ms = UINT32_MAX;
    call->buf = malloc(dossier__v1__request__get_packed_size(env));
    if (call->buf == NULL) {
        s_call_release(call);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    return DOSSIER_OK;
}

/* Packs request for method into call (as s_call_prepare_packed). */
static dossier_status_t
s_call_prepare(dossier_client_t *c, const char *method,
               const ProtobufCMessage *request, s_call_t *call,
               dossier_error_t *err) {
    size_t payload_size = protobuf_c_message_get_packed_size(request);
    uint8_t *payload = malloc(payload_size ? payload_size : 1);
    if (payload == NULL) {
        memset(call, 0, sizeof *call);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    protobuf_c_message_pack(request, payload);
    return s_call_prepare_packed(c, method, payload, payload_size, NULL, 0,
                                 call, err);
}

/* One try at sending call: opens the socket on the current endpoint when
   it is closed, waits until it has a connection (at most until "until"),
   sends. Returns S_WAIT_READY once sent, else how the wait ended; sets
   *last_ep to the endpoint tried and *open_rc when no socket could be
   made (then S_WAIT_ERROR). */
static s_wait_t
s_call_send(dossier_client_t *c, s_call_t *call, int64_t deadline,
            int64_t until, const char **last_ep, dossier_status_t *open_rc,
            dossier_error_t *err) {
    *open_rc = DOSSIER_OK;
    if (c->dealer == NULL) {
        *open_rc = s_socket_open(c, err);
        if (*open_rc != DOSSIER_OK) {
            return S_WAIT_ERROR;
        }
    }
    *last_ep = c->endpoints[c->current];
    /* A dealer with a connection takes the request at once; only one
       without (ZMQ_IMMEDIATE refuses it then) needs the wait. */
    size_t size = 0;
    int64_t left = deadline - s_now_ms();
    call->env.deadline_ms = left > 0 ? (uint32_t)left : 1;
    if (s_send(c, &call->env, call->buf, &size) == 0) {
        return S_WAIT_READY;
    }
    s_wait_t last = s_wait_writable(c, until);
    if (last != S_WAIT_READY) {
        return last;
    }
    left = deadline - s_now_ms();
    call->env.deadline_ms = left > 0 ? (uint32_t)left : 1;
    return s_send(c, &call->env, call->buf, &size) == 0 ? S_WAIT_READY
                                                        : S_WAIT_TIMEOUT;
}

/* The error of a call (method full, safe to retry or not) that got no
   reply: last is how the last wait ended, sent whether a request went
   out. */
static dossier_status_t
s_call_failed(const dossier_client_t *c, const char *full, bool retry_safe,
              s_wait_t last, bool sent, const char *last_ep, int waited,
              dossier_error_t *err) {
    /* Every attempt shares the one deadline, so a call that failed for
       want of a reply waited the whole timeout (waited). */
    switch (last) {
    case S_WAIT_AUTH:
        return dossier_error_set(err, DOSSIER_UNAUTHENTICATED,
                                 "%s refused the CURVE handshake: check the "
                                 "server key and that this client's key is "
                                 "allowed",
                                 last_ep);
    case S_WAIT_MALFORMED:
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "%s sent a reply that is not a "
                                 "dossier.v1.Response",
                                 last_ep);
    case S_WAIT_ERROR:
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "ZeroMQ failed talking to %s: %s", last_ep,
                                 zmq_strerror(errno));
    case S_WAIT_LOST:
        return dossier_error_set(
            err, DOSSIER_UNAVAILABLE,
            "lost the connection to %s before its reply to %s%s", last_ep, full,
            retry_safe ? "" : "; the call may or may not have taken effect");
    default:
        if (sent) {
            return dossier_error_set(
                err, DOSSIER_DEADLINE_EXCEEDED,
                "%s gave no reply to %s in %d ms%s", last_ep, full, waited,
                retry_safe ? ""
                           : "; the call may or may not have taken effect");
        }
        if (c->n_endpoints > 1) {
            return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                     "cannot reach any of %zu endpoints (last "
                                     "%s): no reply in %d ms",
                                     c->n_endpoints, last_ep, waited);
        }
        return dossier_error_set(err, DOSSIER_UNAVAILABLE,
                                 "cannot reach %s: no reply in %d ms", last_ep,
                                 waited);
    }
}

/* Sends a prepared call and waits for its reply, within timeout_ms:
   its attempts, retries and failover (dossier.h). Returns DOSSIER_OK
   with *response_p the matched Response (the caller frees it), or the
   transport failure. */
static dossier_status_t
s_call_run(dossier_client_t *c, s_call_t *call, int timeout_ms,
           Dossier__V1__Response **response_p, dossier_error_t *err) {
    dossier_status_t rc = DOSSIER_OK;
    int64_t deadline = s_now_ms() + timeout_ms;
    int attempts = c->retries + 1;
    bool sent = false;
    s_wait_t last = S_WAIT_TIMEOUT;
    const char *last_ep = c->endpoints[c->current];
    Dossier__V1__Response *response = NULL;
    for (int attempt = 0; attempt < attempts && response == NULL; attempt++) {
        int64_t now = s_now_ms();
        if (now >= deadline) {
            break;
        }
        /* Every remaining attempt gets an equal share to connect. */
        int64_t until = now + (deadline - now) / (attempts - attempt);
        last = s_call_send(c, call, deadline, until, &last_ep, &rc, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        if (last != S_WAIT_READY) {
            if (last == S_WAIT_ERROR) {
                break;
            }
            s_next_endpoint(c);
            continue;
        }
        sent = true;
        c->request_sent = true;
        /* A server can hang with its connection alive (ZeroMQ answers
           heartbeats on its own threads): with another endpoint to try,
           a call safe to retry waits for this one only half the time left. */
        int64_t reply_until = deadline;
        if (call->retry_safe && c->n_endpoints > 1 && attempt + 1 < attempts) {
            int64_t t = s_now_ms();
            reply_until = t + (deadline - t) / 2;
        }
        last = s_wait_reply(c, call->env.id, reply_until, &response);
        if (last == S_WAIT_READY) {
            break;
        }
        /* Whatever the old connection still holds is stale now. */
        s_next_endpoint(c);
        if (!call->retry_safe ||
            (last != S_WAIT_LOST && last != S_WAIT_TIMEOUT) ||
            (last == S_WAIT_TIMEOUT && reply_until >= deadline)) {
            break;
        }
    }
    if (response != NULL) {
        c->current_version = response->current_version;
        *response_p = response;
        return DOSSIER_OK;
    }
    return s_call_failed(c, call->full, call->retry_safe, last, sent, last_ep,
                         timeout_ms, err);
}

dossier_status_t
dossier_call(dossier_client_t *client, const char *method,
             const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_type,
             ProtobufCMessage **response_p, dossier_error_t *err) {
    if (client == NULL || method == NULL || *method == '\0' ||
        request == NULL || response_type == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_call: NULL argument");
    }
    dossier_client_t *c = client;
    c->request_sent = false;
    c->current_version = 0;
    s_call_t call;
    dossier_status_t rc = s_call_prepare(c, method, request, &call, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    Dossier__V1__Response *response = NULL;
    rc = s_call_run(c, &call, c->timeout_ms, &response, err);
    if (rc == DOSSIER_OK) {
        rc = s_finish(response, call.full, response_type, response_p, err);
        dossier__v1__response__free_unpacked(response, NULL);
    }
    s_call_release(&call);
    return rc;
}

dossier_status_t
dossier_call_raw(dossier_client_t *client, const char *method,
                 const void *payload, size_t payload_size,
                 const dossier_call_options_t *options, dossier_reply_t *reply,
                 dossier_error_t *err) {
    if (client == NULL || method == NULL || *method == '\0' ||
        (payload == NULL && payload_size > 0) || reply == NULL ||
        (options != NULL &&
         (options->timeout_ms < 0 ||
          (options->metadata == NULL && options->n_metadata > 0)))) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_call_raw: NULL or bad argument");
    }
    dossier_client_t *c = client;
    c->request_sent = false;
    c->current_version = 0;
    uint8_t *copy = malloc(payload_size ? payload_size : 1);
    if (copy == NULL) {
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    if (payload_size > 0) {
        memcpy(copy, payload, payload_size);
    }
    s_call_t call;
    dossier_status_t rc = s_call_prepare_packed(
        c, method, copy, payload_size, options ? options->metadata : NULL,
        options ? options->n_metadata : 0, &call, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    int timeout_ms = options && options->timeout_ms > 0 ? options->timeout_ms
                                                        : c->timeout_ms;
    Dossier__V1__Response *response = NULL;
    rc = s_call_run(c, &call, timeout_ms, &response, err);
    s_call_release(&call);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    dossier_reply_t out = {0};
    out.code = response->code;
    out.current_version = response->current_version;
    out.message = strdup(response->message ? response->message : "");
    out.payload = malloc(response->payload.len ? response->payload.len : 1);
    if (out.message == NULL || out.payload == NULL) {
        dossier__v1__response__free_unpacked(response, NULL);
        dossier_reply_clear(&out);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    if (response->payload.len > 0) {
        memcpy(out.payload, response->payload.data, response->payload.len);
    }
    out.payload_size = response->payload.len;
    dossier__v1__response__free_unpacked(response, NULL);
    *reply = out;
    return DOSSIER_OK;
}

void
dossier_reply_clear(dossier_reply_t *reply) {
    if (reply == NULL) {
        return;
    }
    free(reply->message);
    free(reply->payload);
    memset(reply, 0, sizeof *reply);
}

/* A pipelined call between dossier_call_start and dossier_call_finish. */
struct dossier_pending {
    char full[128];
    bool retry_safe;
    uint64_t id;
    uint64_t epoch; /* of the connection it went out on */
    int64_t deadline;
    const char *endpoint; /* borrowed from the client */
};

dossier_status_t
dossier_call_start(dossier_client_t *client, const char *method,
                   const ProtobufCMessage *request,
                   dossier_pending_t **pending_p, dossier_error_t *err) {
    if (client == NULL || method == NULL || *method == '\0' ||
        request == NULL || pending_p == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_call_start: NULL argument");
    }
    *pending_p = NULL;
    dossier_client_t *c = client;
    c->request_sent = false;
    c->current_version = 0;
    /* Room to keep this call's reply should it come while another is
       awaited. */
    Dossier__V1__Response **stash =
        realloc(c->stash, (c->n_pending + 1) * sizeof *stash);
    dossier_pending_t *pending = calloc(1, sizeof *pending);
    if (stash != NULL) {
        c->stash = stash;
    }
    if (stash == NULL || pending == NULL) {
        free(pending);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    s_call_t call;
    dossier_status_t rc = s_call_prepare(c, method, request, &call, err);
    if (rc != DOSSIER_OK) {
        free(pending);
        return rc;
    }
    int64_t deadline = s_now_ms() + c->timeout_ms;
    int attempts = c->retries + 1;
    const char *last_ep = c->endpoints[c->current];
    s_wait_t last = S_WAIT_TIMEOUT;
    for (int attempt = 0; attempt < attempts; attempt++) {
        int64_t now = s_now_ms();
        if (now >= deadline) {
            break;
        }
        /* Other calls in flight hold the connection: then it gets the
           whole time and no other endpoint is tried, or their replies
           would be lost. */
        int64_t until = c->n_pending > 0
                            ? deadline
                            : now + (deadline - now) / (attempts - attempt);
        last = s_call_send(c, &call, deadline, until, &last_ep, &rc, err);
        if (rc != DOSSIER_OK || last == S_WAIT_READY || last == S_WAIT_ERROR ||
            c->n_pending > 0) {
            break;
        }
        s_next_endpoint(c);
    }
    if (rc == DOSSIER_OK && last != S_WAIT_READY) {
        rc = s_call_failed(c, call.full, call.retry_safe, last, false, last_ep,
                           c->timeout_ms, err);
    }
    if (rc == DOSSIER_OK) {
        memcpy(pending->full, call.full, sizeof pending->full);
        pending->retry_safe = call.retry_safe;
        pending->id = call.env.id;
        pending->epoch = c->epoch;
        pending->deadline = deadline;
        pending->endpoint = last_ep;
        c->request_sent = true;
        c->n_pending++;
        *pending_p = pending;
    } else {
        free(pending);
    }
    s_call_release(&call);
    return rc;
}

dossier_status_t
dossier_call_finish(dossier_client_t *client, dossier_pending_t **pending_p,
                    const ProtobufCMessageDescriptor *response_type,
                    ProtobufCMessage **response_p, dossier_error_t *err) {
    if (client == NULL || pending_p == NULL || *pending_p == NULL ||
        response_type == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_call_finish: NULL argument");
    }
    dossier_client_t *c = client;
    dossier_pending_t *pending = *pending_p;
    *pending_p = NULL;
    c->current_version = 0;
    Dossier__V1__Response *response = NULL;
    s_wait_t last = S_WAIT_LOST;
    if (pending->epoch == c->epoch) {
        for (size_t i = 0; i < c->n_stash && !response; i++) {
            if (c->stash[i]->id == pending->id) {
                response = c->stash[i];
                c->stash[i] = c->stash[--c->n_stash];
            }
        }
        last = response
                   ? S_WAIT_READY
                   : s_wait_reply(c, pending->id, pending->deadline, &response);
        if (last != S_WAIT_READY) {
            /* The connection is suspect (lost, or silent past the
               deadline): the next call starts on a new one, and the
               calls still pending on this one fail with it. */
            s_next_endpoint(c);
        }
    }
    c->n_pending--;
    dossier_status_t rc;
    if (response != NULL) {
        c->current_version = response->current_version;
        rc = s_finish(response, pending->full, response_type, response_p, err);
        dossier__v1__response__free_unpacked(response, NULL);
    } else {
        rc = s_call_failed(c, pending->full, pending->retry_safe, last, true,
                           pending->endpoint, c->timeout_ms, err);
    }
    free(pending);
    return rc;
}

void
dossier_message_free(void *message) {
    if (message != NULL) {
        protobuf_c_message_free_unpacked(message, NULL);
    }
}

void
dossier_report_free(Dossier__V1__Report *report) {
    dossier_message_free(report);
}

/* The typed calls: each builds its request and casts the response. */
#define S_CALL(client, method, request, type, response_p, err)                 \
    dossier_call((client), (method), (const ProtobufCMessage *)(request),      \
                 &type, (ProtobufCMessage **)(response_p), (err))

dossier_status_t
dossier_get(dossier_client_t *client, const char *id,
            Dossier__V1__Report **report_p, dossier_error_t *err) {
    if (id == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_get: NULL id");
    }
    Dossier__V1__GetRequest req = DOSSIER__V1__GET_REQUEST__INIT;
    req.id = (char *)id;
    return S_CALL(client, "Get", &req, dossier__v1__report__descriptor,
                  report_p, err);
}

dossier_status_t
dossier_put(dossier_client_t *client, const Dossier__V1__Report *report,
            uint64_t expected_version, bool create_only,
            Dossier__V1__PutResponse **response_p, dossier_error_t *err) {
    if (report == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_put: NULL report");
    }
    Dossier__V1__PutRequest req = DOSSIER__V1__PUT_REQUEST__INIT;
    req.report = (Dossier__V1__Report *)report;
    req.expected_version = expected_version;
    req.create_only = create_only;
    return S_CALL(client, "Put", &req, dossier__v1__put_response__descriptor,
                  response_p, err);
}

dossier_status_t
dossier_delete(dossier_client_t *client, const char *id,
               uint64_t expected_version,
               Dossier__V1__DeleteResponse **response_p, dossier_error_t *err) {
    if (id == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_delete: NULL id");
    }
    Dossier__V1__DeleteRequest req = DOSSIER__V1__DELETE_REQUEST__INIT;
    req.id = (char *)id;
    req.expected_version = expected_version;
    return S_CALL(client, "Delete", &req,
                  dossier__v1__delete_response__descriptor, response_p, err);
}

dossier_status_t
dossier_list(dossier_client_t *client, const Dossier__V1__ListRequest *request,
             Dossier__V1__ListResponse **response_p, dossier_error_t *err) {
    return S_CALL(client, "List", request,
                  dossier__v1__list_response__descriptor, response_p, err);
}

dossier_status_t
dossier_import_text(dossier_client_t *client,
                    const Dossier__V1__ImportTextRequest *request,
                    Dossier__V1__ImportTextResponse **response_p,
                    dossier_error_t *err) {
    return S_CALL(client, "ImportText", request,
                  dossier__v1__import_text_response__descriptor, response_p,
                  err);
}

dossier_status_t
dossier_import_batch(dossier_client_t *client,
                     const Dossier__V1__ImportBatchRequest *request,
                     Dossier__V1__ImportBatchResponse **response_p,
                     dossier_error_t *err) {
    return S_CALL(client, "ImportBatch", request,
                  dossier__v1__import_batch_response__descriptor, response_p,
                  err);
}

dossier_status_t
dossier_history(dossier_client_t *client, const char *country,
                const char *doc_type, Dossier__V1__HistoryResponse **response_p,
                dossier_error_t *err) {
    if (country == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_history: NULL country");
    }
    Dossier__V1__HistoryRequest req = DOSSIER__V1__HISTORY_REQUEST__INIT;
    req.country = (char *)country;
    if (doc_type != NULL) {
        req.doc_type = (char *)doc_type;
    }
    return S_CALL(client, "History", &req,
                  dossier__v1__history_response__descriptor, response_p, err);
}

dossier_status_t
dossier_changes(dossier_client_t *client, uint32_t year, const char *doc_type,
                Dossier__V1__ChangesResponse **response_p,
                dossier_error_t *err) {
    Dossier__V1__ChangesRequest req = DOSSIER__V1__CHANGES_REQUEST__INIT;
    req.year = year;
    if (doc_type != NULL) {
        req.doc_type = (char *)doc_type;
    }
    return S_CALL(client, "Changes", &req,
                  dossier__v1__changes_response__descriptor, response_p, err);
}

dossier_status_t
dossier_search(dossier_client_t *client,
               const Dossier__V1__SearchRequest *request,
               Dossier__V1__SearchResponse **response_p, dossier_error_t *err) {
    return S_CALL(client, "Search", request,
                  dossier__v1__search_response__descriptor, response_p, err);
}

dossier_status_t
dossier_stats(dossier_client_t *client, Dossier__V1__StatsResponse **response_p,
              dossier_error_t *err) {
    Dossier__V1__StatsRequest req = DOSSIER__V1__STATS_REQUEST__INIT;
    return S_CALL(client, "Stats", &req,
                  dossier__v1__stats_response__descriptor, response_p, err);
}

dossier_status_t
dossier_health(dossier_client_t *client, const char *service,
               Dossier__V1__HealthResponse **response_p, dossier_error_t *err) {
    Dossier__V1__HealthRequest req = DOSSIER__V1__HEALTH_REQUEST__INIT;
    if (service != NULL) {
        req.service = (char *)service;
    }
    return S_CALL(client, "Health", &req,
                  dossier__v1__health_response__descriptor, response_p, err);
}

dossier_status_t
dossier_describe(dossier_client_t *client,
                 Dossier__V1__DescribeResponse **response_p,
                 dossier_error_t *err) {
    Dossier__V1__DescribeRequest req = DOSSIER__V1__DESCRIBE_REQUEST__INIT;
    return S_CALL(client, "Describe", &req,
                  dossier__v1__describe_response__descriptor, response_p, err);
}
