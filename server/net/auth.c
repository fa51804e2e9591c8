/*  auth.c: CURVE, dossierd's own ZAP handler, and the users table. See
    auth.h.

    One table decides both who may connect (ZAP) and what a connected
    key may do (auth_identify): the table loaded from users_dir at start
    and replaced whole at each reload. Nothing else reads users_dir, so
    a file the table skipped (too large, a duplicate, no valid role, in
    a subfolder) admits nobody. A connection that is still open after
    its key left the table gets role none at once and is refused
    everything; the change feed, which cannot see its peers, is rebound
    by the loop when auth_revocations grows (net/feed.h). */
#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net/auth.h"
#include "dossier/v1/reports.pb-c.h"
#include "log.h"
#include "text.h"
#include "api/methods.h"

#define S_ZAP_DOMAIN "dossier"
/* A ZAP request: version, request id, domain, address, identity,
   mechanism, credentials. */
#define S_ZAP_FRAMES 7
#define S_ZAP_BURST 256 /* requests answered per auth_zap_handle */
#define S_MAX_USERS 100000

typedef struct {
    char key[41]; /* Z85 public key: the ZAP User-Id */
    char name[64];
    role_t role;
    char file[256]; /* the certificate's file name, for warnings */
} s_user_t;

struct auth_t {
    const config_t *config;
    bool curve;
    role_t anonymous_role;
    /* NONE with every endpoint on loopback: the development mode, where
       an API token may narrow a caller (api/tokens.h). */
    bool keyless_loopback;
    zcert_t *server_cert;
    zhashx_t *users; /* Z85 public key -> s_user_t, owned */
    unsigned long revocations;
    char describe[512];
};

static volatile sig_atomic_t s_reload_requested;

bool
auth_endpoint_is_loopback(const char *endpoint) {
    if (!endpoint) {
        return false;
    }
    if (strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0) {
        return true;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        return false;
    }
    const char *host = endpoint + 6;
    /* tcp://127.a.b.c:port, every address of 127.0.0.0/8. */
    if (strncmp(host, "127.", 4) == 0) {
        const char *c = host + 4;
        int dots = 0;
        for (; *c && *c != ':'; c++) {
            if (*c == '.') {
                dots++;
            } else if (*c < '0' || *c > '9') {
                return false;
            }
        }
        return dots == 2 && *c == ':';
    }
    return strncmp(host, "localhost:", 10) == 0 ||
           strncmp(host, "[::1]:", 6) == 0;
}

/*  ZeroMQ's network transports; any other scheme cannot be bound, and
    binding will say so. */
static bool
s_is_network(const char *endpoint) {
    static const char *const schemes[] = {"tcp://",  "ws://",   "wss://",
                                          "udp://",  "pgm://",  "epgm://",
                                          "norm://", "tipc://", "vmci://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        if (strncmp(endpoint, schemes[i], strlen(schemes[i])) == 0) {
            return true;
        }
    }
    return false;
}

/*  A certificate's role: reader, writer, admin, or gateway (the key of
    dossier-gateway, which acts for its callers' tokens). */
static bool
s_role_parse(const char *text, role_t *role) {
    if (text && strcmp(text, methods_role_name(ROLE_GATEWAY)) == 0) {
        *role = ROLE_GATEWAY;
        return true;
    }
    return methods_role_parse(text, role);
}

/*  A user name goes into records, the audit log, replies and the log:
    valid UTF-8 (every client can decode it), 1 to 63 bytes, and no
    control character (C0, DEL, C1) to forge a line or drive a terminal. */
static bool
s_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= sizeof((s_user_t *)0)->name ||
        !text_utf8_valid(name, n)) {
        return false;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += text_utf8_decode((const unsigned char *)name + i, n - i, &cp);
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
            return false;
        }
    }
    return true;
}

static void
s_user_free(void **item) {
    free(*item);
    *item = NULL;
}

/*  Reads one user certificate into table (names: name -> the user with
    it, not owned); logs and skips a bad one. */
static void
s_load_user(zhashx_t *table, zhashx_t *names, const char *dir,
            const char *file) {
    char path[4096];
    if (strlen(file) >= sizeof((s_user_t *)0)->file ||
        snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
        log_warn("users: skipped %.80s...: file name too long", file);
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return; /* subfolders are not read: only users_dir's own files */
    }
    if (st.st_size > AUTH_MAX_CERT_BYTES) {
        log_warn("users: skipped %s: %lld bytes is too large for a "
                 "certificate (at most %d)",
                 path, (long long)st.st_size, AUTH_MAX_CERT_BYTES);
        return;
    }
    /* Not zcert_load: czmq 4.2.1's zconfig_load leaks its zfile when the
       file does not parse, and these files come from outside. */
    zchunk_t *chunk = zchunk_slurp(path, AUTH_MAX_CERT_BYTES);
    zconfig_t *root = chunk ? zconfig_chunk_load(chunk) : NULL;
    zchunk_destroy(&chunk);
    const char *key = root ? zconfig_get(root, "curve/public-key", NULL) : NULL;
    uint8_t binary[32];
    if (!key || strlen(key) != 40 || !zmq_z85_decode(binary, key)) {
        log_warn("users: skipped %s: not a czmq certificate with a public "
                 "key",
                 path);
        zconfig_destroy(&root);
        return;
    }
    const char *name = zconfig_get(root, "metadata/name", NULL);
    const char *role_text = zconfig_get(root, "metadata/role", NULL);
    role_t role = ROLE_NONE;
    const s_user_t *other;
    if (!s_name_ok(name)) {
        log_warn("users: skipped %s: metadata 'name' is missing, or not 1 "
                 "to 63 bytes of UTF-8 without control characters",
                 path);
    } else if (!s_role_parse(role_text, &role)) {
        log_warn("users: skipped %s (%s): metadata 'role' is missing or not "
                 "reader, writer, admin or gateway",
                 path, name);
    } else if ((other = zhashx_lookup(table, key)) != NULL) {
        log_warn("users: skipped %s (%s): its key is already the key of "
                 "user %s in %s/%s",
                 path, name, other->name, dir, other->file);
    } else if ((other = zhashx_lookup(names, name)) != NULL) {
        log_warn("users: skipped %s: the name %s is already the name of "
                 "the user in %s/%s",
                 path, name, dir, other->file);
    } else if (zhashx_size(table) >= S_MAX_USERS) {
        log_warn("users: skipped %s: more than %d users", path, S_MAX_USERS);
    } else {
        s_user_t *user = calloc(1, sizeof *user);
        if (!user) {
            log_warn("users: skipped %s: out of memory", path);
        } else {
            snprintf(user->key, sizeof user->key, "%s", key);
            snprintf(user->name, sizeof user->name, "%s", name);
            snprintf(user->file, sizeof user->file, "%s", file);
            user->role = role;
            if (zhashx_insert(table, key, user) != 0) {
                free(user);
            } else {
                zhashx_insert(names, user->name, user);
            }
        }
    }
    zconfig_destroy(&root);
}

/*  The files worth reading: secret certificates never name a user, and
    hidden files are editor leftovers or "." and "..". */
static int
s_user_file(const struct dirent *entry) {
    const char *file = entry->d_name;
    size_t n = strlen(file);
    return file[0] != '.' && !(n >= 7 && strcmp(file + n - 7, "_secret") == 0);
}

/*  Byte order, whatever the locale: the first of two files with the
    same key or name is the one admitted, on every machine. */
static int
s_file_order(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/*  A fresh table from users_dir, or NULL with err set. */
static zhashx_t *
s_load_users(const char *dir, dossier_error_t *err) {
    struct dirent **files = NULL;
    int n = scandir(dir, &files, s_user_file, s_file_order);
    if (n < 0) {
        dossier_error_set(err, DOSSIER_UNAVAILABLE,
                          "cannot read the users directory %s: %s", dir,
                          strerror(errno));
        return NULL;
    }
    zhashx_t *table = zhashx_new();
    zhashx_t *names = zhashx_new();
    if (!table || !names) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        zhashx_destroy(&table);
    } else {
        zhashx_set_destructor(table, s_user_free);
        for (int i = 0; i < n; i++) {
            s_load_user(table, names, dir, files[i]->d_name);
        }
    }
    zhashx_destroy(&names);
    for (int i = 0; i < n; i++) {
        free(files[i]);
    }
    free(files);
    return table;
}

static void
s_describe(auth_t *self) {
    const config_t *config = self->config;
    if (self->curve) {
        snprintf(self->describe, sizeof self->describe,
                 "CURVE, %zu users from %s", zhashx_size(self->users),
                 config->users_dir);
    } else if (!auth_endpoint_is_loopback(config->bind)) {
        snprintf(self->describe, sizeof self->describe,
                 "NONE (--insecure on %s); every peer is 'anonymous' with "
                 "role %s",
                 config->bind, methods_role_name(self->anonymous_role));
    } else if (config->feed_bind && config->feed_bind[0] &&
               !auth_endpoint_is_loopback(config->feed_bind)) {
        snprintf(self->describe, sizeof self->describe,
                 "NONE (--insecure: the change feed on %s); every peer is "
                 "'anonymous' with role %s",
                 config->feed_bind, methods_role_name(self->anonymous_role));
    } else {
        snprintf(self->describe, sizeof self->describe,
                 "NONE (loopback only); every peer is 'anonymous' with role "
                 "%s",
                 methods_role_name(self->anonymous_role));
    }
}

static dossier_status_t
s_load_server_cert(auth_t *self, dossier_error_t *err) {
    const char *path = self->config->curve_secret_key_file;
    struct stat st;
    if (stat(path, &st) != 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "cannot read the server key %s: %s", path,
                                 strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || st.st_size > AUTH_MAX_CERT_BYTES) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "the server key %s is not a certificate file",
                                 path);
    }
    self->server_cert = zcert_load(path);
    /* zcert_load gives an all-zero secret key when the file has none. */
    if (!self->server_cert ||
        strcmp(zcert_secret_txt(self->server_cert),
               "0000000000000000000000000000000000000000") == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s is not a czmq secret certificate (make "
                                 "one with `dossier keygen NAME` and give its "
                                 "NAME.key_secret)",
                                 path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        log_warn("the server key %s can be read by other users (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
    }
    return DOSSIER_OK;
}

auth_t *
auth_new(const config_t *config, dossier_error_t *err) {
    auth_t *self = calloc(1, sizeof *self);
    if (!self) {
        dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    self->config = config;
    bool loopback = auth_endpoint_is_loopback(config->bind);
    bool has_key =
        config->curve_secret_key_file && config->curve_secret_key_file[0];
    bool has_users = config->users_dir && config->users_dir[0];
    if (has_key != has_users) {
        dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                          "CURVE needs both curve_secret_key_file "
                          "(--curve-key) and users_dir (--users); only %s is "
                          "set",
                          has_key ? "curve_secret_key_file" : "users_dir");
        goto fail;
    }
    self->curve = has_key;
    if (!self->curve && !loopback && !config->insecure &&
        s_is_network(config->bind)) {
        dossier_error_set(
            err, DOSSIER_FAILED_PRECONDITION,
            "refusing to serve %s without authentication: it is not a "
            "loopback address; set curve_secret_key_file and users_dir "
            "(--curve-key FILE --users DIR, see docs/OPERATIONS.md), or "
            "pass --insecure to serve it unauthenticated anyway",
            config->bind);
        goto fail;
    }
    /* The change feed carries every write's id, user and country: the
       same rule as the front socket. */
    const char *feed = config->feed_bind;
    if (!self->curve && feed && *feed && !auth_endpoint_is_loopback(feed) &&
        !config->insecure && s_is_network(feed)) {
        dossier_error_set(
            err, DOSSIER_FAILED_PRECONDITION,
            "refusing to publish the change feed on %s without "
            "authentication: it is not a loopback address; set "
            "curve_secret_key_file and users_dir (--curve-key FILE --users "
            "DIR), or pass --insecure to publish it unauthenticated anyway",
            feed);
        goto fail;
    }
    self->anonymous_role = loopback ? ROLE_ADMIN : ROLE_READER;
    self->keyless_loopback =
        !self->curve && loopback &&
        (!feed || !*feed || auth_endpoint_is_loopback(feed));
    if (config->anonymous_role && config->anonymous_role[0] &&
        !methods_role_parse(config->anonymous_role, &self->anonymous_role)) {
        dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                          "anonymous_role '%.40s' is not reader, writer or "
                          "admin",
                          config->anonymous_role);
        goto fail;
    }
    if (self->curve) {
        if (!zsys_has_curve()) {
            dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                              "this libzmq was built without CURVE");
            goto fail;
        }
        if (s_load_server_cert(self, err) != DOSSIER_OK) {
            goto fail;
        }
        self->users = s_load_users(config->users_dir, err);
        if (!self->users) {
            goto fail;
        }
        if (zhashx_size(self->users) == 0) {
            log_warn("users: no user certificates in %s; nobody can "
                     "connect until one is added (dossier keygen)",
                     config->users_dir);
        }
    }
    s_describe(self);
    return self;
fail:
    auth_destroy(&self);
    return NULL;
}

void
auth_destroy(auth_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    auth_t *self = *self_p;
    zcert_destroy(&self->server_cert);
    zhashx_destroy(&self->users);
    free(self);
    *self_p = NULL;
}

dossier_status_t
auth_secure(auth_t *self, void *socket, dossier_error_t *err) {
    if (!self || !self->curve) {
        return DOSSIER_OK;
    }
    int server = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY,
                       zcert_secret_key(self->server_cert), 32) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, S_ZAP_DOMAIN,
                       strlen(S_ZAP_DOMAIN)) != 0) {
        return dossier_error_set(err, DOSSIER_INTERNAL,
                                 "cannot make the socket a CURVE server: %s",
                                 zmq_strerror(errno));
    }
    return DOSSIER_OK;
}

static bool
s_frame_is(zmq_msg_t *frame, const char *text) {
    size_t n = strlen(text);
    return zmq_msg_size(frame) == n &&
           memcmp(zmq_msg_data(frame), text, n) == 0;
}

/*  The verdict on one request of total frames (the first kept of them
    in frames): the user admitted, or NULL with *why set. */
static const s_user_t *
s_zap_verdict(const auth_t *self, zmq_msg_t *frames, size_t total,
              const char **why) {
    if (total != S_ZAP_FRAMES) {
        *why = "malformed ZAP request";
        return NULL;
    }
    if (!s_frame_is(&frames[0], "1.0")) {
        *why = "unsupported ZAP version";
        return NULL;
    }
    if (!s_frame_is(&frames[2], S_ZAP_DOMAIN) ||
        !s_frame_is(&frames[5], "CURVE") || zmq_msg_size(&frames[6]) != 32) {
        *why = "not a CURVE request of domain " S_ZAP_DOMAIN;
        return NULL;
    }
    char key[41];
    if (!zmq_z85_encode(key, zmq_msg_data(&frames[6]), 32)) {
        *why = "unusable key";
        return NULL;
    }
    const s_user_t *user = zhashx_lookup(self->users, key);
    if (!user) {
        /* Debug only: anyone who can reach the port can try keys. */
        log_debug("ZAP: refused key %s: not in the users table", key);
        *why = "unknown key";
        return NULL;
    }
    return user;
}

/*  Answers one request; total frames were read, the first kept of them
    are in frames. */
static void
s_zap_reply(const auth_t *self, void *socket, zmq_msg_t *frames, size_t kept,
            size_t total) {
    const char *why = "OK";
    const s_user_t *user = s_zap_verdict(self, frames, total, &why);
    /* RFC 27: version, request id (echoed), status, status text, user
       id, metadata (none: nothing the client sent is passed on). */
    const void *id = kept >= 2 ? zmq_msg_data(&frames[1]) : "";
    size_t id_size = kept >= 2 ? zmq_msg_size(&frames[1]) : 0;
    const char *user_id = user ? user->key : "";
    const int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    if (zmq_send(socket, "1.0", 3, more) < 0 ||
        zmq_send(socket, id, id_size, more) < 0 ||
        zmq_send(socket, user ? "200" : "400", 3, more) < 0 ||
        zmq_send(socket, why, strlen(why), more) < 0 ||
        zmq_send(socket, user_id, strlen(user_id), more) < 0 ||
        zmq_send(socket, "", 0, ZMQ_DONTWAIT) < 0) {
        log_warn("ZAP: reply not sent: %s", zmq_strerror(errno));
    }
}

void
auth_zap_handle(auth_t *self, void *socket) {
    for (int burst = 0; burst < S_ZAP_BURST; burst++) {
        zmq_msg_t frames[S_ZAP_FRAMES];
        zmq_msg_init(&frames[0]);
        if (zmq_msg_recv(&frames[0], socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frames[0]);
            return;
        }
        size_t kept = 1;
        size_t total = 1;
        bool more = zmq_msg_more(&frames[0]);
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, socket, 0) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            total++;
            if (kept < S_ZAP_FRAMES) {
                frames[kept++] = part;
            } else {
                zmq_msg_close(&part);
            }
        }
        /* REP: every request read gets its one reply. */
        s_zap_reply(self, socket, frames, kept, total);
        for (size_t i = 0; i < kept; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
}

void
auth_identify(const auth_t *self, zmq_msg_t *body, auth_identity_t *who) {
    memset(who, 0, sizeof *who);
    if (!self->curve) {
        snprintf(who->name, sizeof who->name, "anonymous");
        who->role = self->anonymous_role;
        who->tokens = self->keyless_loopback;
        return;
    }
    /* Set by libzmq from our ZAP reply: a key of the table when it was
       admitted; a client cannot write it. */
    const char *key = zmq_msg_gets(body, "User-Id");
    if (!key || strlen(key) != 40) {
        snprintf(who->name, sizeof who->name, "unknown");
        who->role = ROLE_NONE;
        return;
    }
    snprintf(who->key, sizeof who->key, "%s", key);
    const s_user_t *user = zhashx_lookup(self->users, key);
    if (user) {
        snprintf(who->name, sizeof who->name, "%s", user->name);
        who->role = user->role;
        who->tokens = user->role == ROLE_GATEWAY;
        return;
    }
    /* Admitted, then removed by a reload: no name, no role. */
    snprintf(who->name, sizeof who->name, "unknown");
    who->role = ROLE_NONE;
}

/*  How many keys of old are not in new. */
static size_t
s_revoked(zhashx_t *old, zhashx_t *new) {
    size_t revoked = 0;
    for (s_user_t *user = zhashx_first(old); user; user = zhashx_next(old)) {
        if (!zhashx_lookup(new, user->key)) {
            revoked++;
        }
    }
    return revoked;
}

dossier_status_t
auth_reload(auth_t *self, size_t *users, dossier_error_t *err) {
    if (!self->curve) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "the server runs without CURVE; there are no "
                                 "users to reload");
    }
    zhashx_t *table = s_load_users(self->config->users_dir, err);
    if (!table) {
        return err ? err->code : DOSSIER_UNAVAILABLE;
    }
    size_t revoked = s_revoked(self->users, table);
    if (revoked > 0) {
        self->revocations++;
        log_info("users: %zu keys are no longer admitted; their open "
                 "connections are refused every call, and change feed "
                 "subscribers must authenticate again",
                 revoked);
    }
    zhashx_destroy(&self->users);
    self->users = table;
    s_describe(self);
    *users = zhashx_size(table);
    return DOSSIER_OK;
}

void
auth_request_reload(void) {
    s_reload_requested = 1;
}

void
auth_poll(auth_t *self) {
    if (!s_reload_requested) {
        return;
    }
    s_reload_requested = 0;
    size_t users = 0;
    dossier_error_t err = {0};
    if (auth_reload(self, &users, &err) == DOSSIER_OK) {
        log_info("users: reloaded on SIGHUP: %zu users from %s", users,
                 self->config->users_dir);
    } else {
        log_warn("users: not reloaded on SIGHUP: %s", err.message);
    }
}

const char *
auth_describe(auth_t *self) {
    return self->describe;
}

unsigned long
auth_revocations(const auth_t *self) {
    return self->revocations;
}

bool
auth_curve(const auth_t *self) {
    return self->curve;
}
