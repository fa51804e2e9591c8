/*  auth.h: who is calling, and what they may do.

    Two modes, chosen at start from the settings (config.h):
    - CURVE (curve_secret_key_file and users_dir set): the front ROUTER and
      the change feed's PUB are CURVE servers with the server's key pair,
      and this module is their ZAP handler (ZeroMQ RFC 27): the loop binds
      a socket at "inproc://zeromq.zap.01" before any CURVE socket binds
      and hands each request to auth_zap_handle, which admits a client
      only when its public key is in the users table this module loads
      from users_dir (at start, on SIGHUP, on ReloadUsers). The reply's
      User-Id is the key as the table holds it; no client metadata is
      passed on. Each request's caller is then read ONLY from that
      User-Id, looked up in the table again (a key removed by a reload
      since its connection was admitted gets role none). Nothing the
      client writes in its Request (payload or metadata) is ever used for
      identity.
    - NONE: every peer is "anonymous". Allowed on loopback endpoints
      (127.0.0.0/8, ::1, localhost, ipc://, inproc://) with role admin by
      default; on any other endpoint only with insecure = true, then with
      anonymous_role (default reader).

    A user file is a czmq public certificate (`dossier keygen` writes
    them) directly in users_dir, at most AUTH_MAX_CERT_BYTES, whose
    metadata has name (valid UTF-8 without control characters, 1 to 63
    bytes) and role (reader, writer, admin, or gateway: dossier-gateway's
    own key, which may call Health and Describe and otherwise acts only
    for the API tokens its HTTP callers send, api/tokens.h). Files are read in
   byte order of their names. Hidden files, files whose names end in
    "_secret", and subfolders are passed over; every other file that is
    not such a certificate, or whose key or name an earlier file already
    has, is skipped with a warning in the log (naming both files for a
    duplicate). Only the users of the table can connect.

    Everything here runs on the loop thread, except auth_request_reload,
    which a signal handler may call. */
#ifndef DOSSIER_SERVER_AUTH_H
#define DOSSIER_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <zmq.h>

#include "config.h"
#include "exec/job.h"
#include "status.h"

typedef struct auth_t auth_t;

/*  Where libzmq sends ZAP requests (RFC 27); bind it in the context of
    the CURVE sockets before they bind. */
#define AUTH_ZAP_ENDPOINT "inproc://zeromq.zap.01"
/*  The largest user certificate read; `dossier keygen` writes ~400 bytes. */
#define AUTH_MAX_CERT_BYTES 65536

/*  The caller of one request. */
typedef struct {
    char name[64]; /* "anonymous" without CURVE */
    char key[41];  /* the client's public key, Z85; "" without CURVE */
    role_t role;   /* ROLE_NONE: a key no longer in the users table */
    /* Its requests may carry an API token (api/tokens.h): a user whose
       role is gateway, or any peer in the keyless loopback mode (NONE,
       the front socket and the change feed both on loopback). */
    bool tokens;
} auth_identity_t;

/*  Decides the security mode from config (borrowed; must outlive the
    auth), loads the server certificate and the users table. Returns the
    auth, the caller's (auth_destroy), or NULL with err set:
    DOSSIER_FAILED_PRECONDITION when config->bind is not loopback and
    neither CURVE nor insecure is set; DOSSIER_INVALID_ARGUMENT for a
    missing or unusable key file or users directory, users_dir without a
    key file, or a bad anonymous_role. Starts no thread. */
auth_t *auth_new(const config_t *config, dossier_error_t *err);

/*  Frees the auth; takes NULL; sets *self_p to NULL. */
void auth_destroy(auth_t **self_p);

/*  Makes socket (not yet bound) a CURVE server with the server's secret
    key and ZAP domain "dossier", whose ZAP requests auth_zap_handle
    answers; does nothing without CURVE. The ZAP socket must be bound in
    the socket's context before socket binds, or libzmq admits nobody.
    Returns DOSSIER_OK or DOSSIER_INTERNAL. */
dossier_status_t auth_secure(auth_t *self, void *socket, dossier_error_t *err);

/*  Answers the ZAP requests waiting on socket (a REP socket bound at
    AUTH_ZAP_ENDPOINT; borrowed), without blocking: "200" with the user's
    public key (Z85) as User-Id for a CURVE key in the users table, "400"
    for anything else, a malformed request included (its request id
    echoed when it has one). Every reply has version "1.0" and empty
    metadata. */
void auth_zap_handle(auth_t *self, void *socket);

/*  Fills *who for the request whose body frame is body (its ZAP
    properties). Never fails: an unknown key gets role ROLE_NONE. */
void auth_identify(const auth_t *self, zmq_msg_t *body, auth_identity_t *who);

/*  Reloads the users table from users_dir. On success replaces the
    table at once (the next ZAP request is answered from it) and writes
    the number of users to *users; on failure (directory unreadable)
    keeps the old table. Returns DOSSIER_OK,
    DOSSIER_FAILED_PRECONDITION without CURVE, or DOSSIER_UNAVAILABLE. */
dossier_status_t auth_reload(auth_t *self, size_t *users, dossier_error_t *err);

/*  Asks for a reload at the next auth_poll. Async-signal-safe (SIGHUP). */
void auth_request_reload(void);

/*  Reloads (logging the outcome) when auth_request_reload was called
    since the last auth_poll. The loop calls it every round. */
void auth_poll(auth_t *self);

/*  The mode in one line, for the start-up log: "CURVE, 3 users from
    /etc/dossier/users", "NONE (loopback only)", "NONE (--insecure on
    tcp://0.0.0.0:7531)", followed by the anonymous role without CURVE.
    Borrowed, valid until the next auth call. */
const char *auth_describe(auth_t *self);

/*  True for endpoints only this machine can reach: tcp:// on
    127.0.0.0/8, [::1] or localhost, and every ipc:// or inproc://. */
bool auth_endpoint_is_loopback(const char *endpoint);

/*  How many reloads so far took away at least one key that was admitted
    before (its file removed, or no longer a valid user): connections
    made with such a key must authenticate again (the change feed). */
unsigned long auth_revocations(const auth_t *self);

/*  True in the CURVE mode, false in NONE. */
bool auth_curve(const auth_t *self);

#endif
