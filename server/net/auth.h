/*  auth.h: who is calling, and what they may do.

    Two modes, chosen at start from the settings (config.h):
    - CURVE (curve_secret_key_file and users_dir set): the front ROUTER is
      a CURVE server with the server's key pair, and czmq's zauth actor
      answers ZAP for it, admitting only clients whose public certificate
      is in users_dir (zauth reloads that directory by itself when it
      changes). Each request's caller is then read ONLY from what ZAP
      attached to the message: the "User-Id" property (the client's
      public key, Z85) is looked up in the users table this module loads
      from the same directory (at start, on SIGHUP, on ReloadUsers); the
      table gives the name and the role. Nothing the client writes in its
      Request (payload or metadata) is ever used for identity.
    - NONE: every peer is "anonymous". Allowed on loopback endpoints
      (127.0.0.0/8, ::1, localhost, ipc://, inproc://) with role admin by
      default; on any other endpoint only with insecure = true, then with
      anonymous_role (default reader).

    A user file is a czmq public certificate (`dossier keygen` writes
    them) whose metadata has name (1..63 printable characters) and role
    (reader, writer or admin). Files whose names end in "_secret", and
    hidden files, are skipped; a file that is not a certificate, or lacks
    a valid name or role, is skipped with a warning in the log.

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

/*  The caller of one request. */
typedef struct {
    char name[64]; /* "anonymous" without CURVE */
    char key[41];  /* the client's public key, Z85; "" without CURVE */
    role_t role;   /* ROLE_NONE: an admitted key without a (valid) user */
} auth_identity_t;

/*  Decides the security mode from config (borrowed; must outlive the
    auth), loads the server certificate and the users table. Returns the
    auth, the caller's (auth_destroy), or NULL with err set:
    DOSSIER_FAILED_PRECONDITION when config->bind is not loopback and
    neither CURVE nor insecure is set; DOSSIER_INVALID_ARGUMENT for a
    missing or unusable key file or users directory, users_dir without a
    key file, or a bad anonymous_role. Starts no thread. */
auth_t *auth_new(const config_t *config, dossier_error_t *err);

/*  Stops the zauth actor (if started) and frees the auth; takes NULL;
    sets *self_p to NULL. Call after the socket it secured is closed. */
void auth_destroy(auth_t **self_p);

/*  The ZeroMQ context the front socket must be made in: with CURVE,
    czmq's own (zsys_init), because the ZAP handler lives there; NULL
    without CURVE (the caller makes its own). Borrowed: never terminate
    it, czmq does at exit. */
void *auth_context(auth_t *self);

/*  Makes socket (a ROUTER of auth_context's context, not yet bound) a
    CURVE server with ZAP domain "dossier" and starts the zauth actor on
    users_dir (once: later calls, for more sockets such as the change
    feed, share it); does nothing without CURVE. Returns DOSSIER_OK or
    DOSSIER_INTERNAL. */
dossier_status_t auth_secure(auth_t *self, void *socket, dossier_error_t *err);

/*  Fills *who for the request whose body frame is body (its ZAP
    properties). Never fails: an unknown key gets role ROLE_NONE. */
void auth_identify(const auth_t *self, zmq_msg_t *body, auth_identity_t *who);

/*  Reloads the users table from users_dir. On success replaces the
    table and writes the number of users to *users; on failure (directory
    unreadable) keeps the old table. Returns DOSSIER_OK,
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

/*  True in the CURVE mode, false in NONE. */
bool auth_curve(const auth_t *self);

#endif
