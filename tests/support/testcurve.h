/*  testcurve.h: a dossierd with CURVE on, for the tests of users, keys
    and roles.

    A fixture is a temporary directory with users/ (the server's users
    directory: public certificates) and keys/ (the server's certificate
    and every user's secret one), and the server started on them. Every
    function asserts (cmocka) on failure, so it belongs on the test's
    thread. */
#ifndef DOSSIER_TESTCURVE_H
#define DOSSIER_TESTCURVE_H

#include <czmq.h>

#include "dossier.h"
#include "dossier/v1/rpc.pb-c.h"
#include "testserver.h"

typedef struct {
    char root[64];
    char users[128];
    char keys[128];
    zcert_t *server;  /* the server's key pair */
    testserver_t *ts; /* NULL until testcurve_start */
} testcurve_t;

/*  A new fixture under /tmp/dossier-PREFIX-XXXXXX with users/, keys/
    and keys/server.key(_secret); no server yet. The caller's, freed by
    testcurve_destroy. */
testcurve_t *testcurve_new(const char *prefix);

/*  Makes a user's key pair with metadata name and role: the public
    certificate as DIR/FILE.key (dir NULL: the users directory; another
    directory for a key the server must not know), the secret one as
    keys/FILE.key_secret. Returns the certificate, the caller's
    (zcert_destroy). */
zcert_t *testcurve_user(testcurve_t *self, const char *dir, const char *file,
                        const char *name, const char *role);

/*  The key pair of keys/FILE.key_secret, the caller's (zcert_destroy). */
zcert_t *testcurve_cert(testcurve_t *self, const char *file);

/*  Starts dossierd with CURVE on the fixture's keys and users directory,
    plus extra flags (NULL: none); self->ts is the server. */
void testcurve_start(testcurve_t *self, const char *extra);

/*  A libdossier client of self->ts with FILE's keys (NULL: without
    CURVE), timeout_ms, no retries; the caller's (dossier_client_destroy). */
dossier_client_t *testcurve_client(testcurve_t *self, const char *file,
                                   int timeout_ms);

/*  Sends one Request {id 77, method, payload packed, metadata (n of
    them, borrowed)} over a raw CURVE DEALER with FILE's keys, and returns
    the Response it gets within 5 s, the caller's
    (dossier__v1__response__free_unpacked). */
Dossier__V1__Response *
testcurve_call_raw(testcurve_t *self, const char *file, const char *method,
                   const ProtobufCMessage *payload,
                   Dossier__V1__Request__MetadataEntry **metadata,
                   size_t n_metadata);

/*  Stops the server (asserting it exited 0), removes the directory and
    frees the fixture; takes NULL; sets *self_p to NULL. */
void testcurve_destroy(testcurve_t **self_p);

#endif
