/*  testserver.h: a real dossierd for integration tests.

    testserver_start() forks and execs DOSSIER_BIN_DIR "/dossierd" (the
    environment variable DOSSIER_BIN_DIR, when set, wins over the compiled
    one) with --data in a fresh temporary directory and --bind
    tcp://127.0.0.1:* (a free port), waits (at most 10 s) until the server
    has written its pid file, and reads the real endpoint from it. The
    server's stderr (its log) goes to a file beside the data directory, so
    a test can read it (testserver_logpath) and a failing start or stop
    prints it.

    Layout of one test server:
        ROOT/            mkdtemp("/tmp/dossier-test-XXXXXX"), removed by stop
        ROOT/data/       the --data directory (created by dossierd)
        ROOT/dossierd.log the server's stderr, appended across restarts

    testserver_call() is a raw client over a plain ZeroMQ REQ socket, for
    tests that must not depend on libdossier.

    A server still running when the test program exits (a failed test
    jumped over its testserver_stop) is killed and its directory removed
    by an atexit handler; a server also gets SIGTERM if the thread that
    started it dies (PR_SET_PDEATHSIG), so none is left behind.

    Not thread-safe: start, restart and stop servers from one thread.
    testserver_call may be used from any number of threads at once (each
    call has its own context). */
#ifndef DOSSIER_TESTSERVER_H
#define DOSSIER_TESTSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "dossier/v1/rpc.pb-c.h"
#include "status.h"

typedef struct testserver_t testserver_t;

/*  Starts a dossierd as described above. extra_args (may be NULL) are
    more command-line arguments, split on blanks (no quoting), placed after
    --data and --bind so they can override them ("--workers 4
    --max-page-size 10"). Returns the server, the caller's (end it with
    testserver_stop), or NULL after printing on stderr why the server did
    not start (and its log). */
testserver_t *testserver_start(const char *extra_args);

/*  The endpoint the server bound, "tcp://127.0.0.1:40123"; borrowed,
    valid until the next testserver_restart or testserver_stop. */
const char *testserver_endpoint(testserver_t *self);

/*  The server's --data directory; borrowed, valid until testserver_stop. */
const char *testserver_datadir(testserver_t *self);

/*  The file holding the server's stderr; borrowed, valid until
    testserver_stop (which removes it). */
const char *testserver_logpath(testserver_t *self);

/*  Prints the last 200 lines of the server's log on stderr (a failing
    start or stop does so itself), so that a test's failure shows what the
    server said. */
void testserver_print_log(const testserver_t *self);

/*  Whether a line of the server's log (as far as it is written now)
    contains text. Lines longer than 4 KiB are read in pieces, so text
    must lie within one piece. Asserts (cmocka) that the log opens. */
bool testserver_log_has(const testserver_t *self, const char *text);

/*  Waits for a line of the server's log to contain text (as
    testserver_log_has), looking every 10 ms for at most timeout_ms: how a
    test waits for an event the server only logs (a signal handled, a
    reload refused) instead of sleeping. Returns whether it came. */
bool testserver_wait_log(const testserver_t *self, const char *text,
                         int timeout_ms);

/*  Removes path and everything under it (a test's temporary directory);
    errors are ignored. */
void testserver_remove_tree(const char *path);

/*  The directory holding dossierd and the other programs of the build:
    the environment variable DOSSIER_BIN_DIR when set and not empty, else
    the one compiled in. Borrowed, static. */
const char *testserver_bin_dir(void);

/*  The server's process id (of the current run). */
pid_t testserver_pid(testserver_t *self);

/*  Sends signal to the server and returns at once (0, or -1 when the
    process is already gone). Use testserver_wait to collect its exit. */
int testserver_kill(testserver_t *self, int signal);

/*  Waits at most timeout_ms for the server to exit and reaps it. Returns
    its exit code (0..255), 128 + the signal number when a signal ended it,
    or -1 when it is still running after timeout_ms. Once it has exited,
    later calls return the same value at once. */
int testserver_wait(testserver_t *self, int timeout_ms);

/*  Makes every later testserver_restart bind the endpoint the server
    reports now (the port it picked), so that a client holding that
    endpoint finds the restarted server. Returns 0, or -1 when out of
    memory. */
int testserver_keep_endpoint(testserver_t *self);

/*  Stops the server if it is still running (SIGTERM; it must exit 0
    within 10 s) and starts a new one on the same data directory with the
    same extra arguments; the endpoint may change. A server already ended
    by testserver_kill (even with SIGKILL) is simply reaped first. Returns
    0, or -1 after printing why on stderr. */
int testserver_restart(testserver_t *self);

/*  Sends SIGTERM (if the server still runs), waits at most 10 s (then
    SIGKILL), removes the temporary directory, frees *self_p and sets it
    to NULL; takes NULL. Then asserts (cmocka) that the last run exited
    with status 0, printing the log when it did not. */
void testserver_stop(testserver_t **self_p);

/*  Sends one Request {id, method, payload = packed request (NULL: empty
    payload)} to endpoint over a new REQ socket and waits at most
    timeout_ms for the Response. method is the full name,
    "dossier.v1.Reports/Get". Returns 0 (DOSSIER_OK) when a Response with
    the same id arrived, whatever its code; then *response_p is the
    caller's, freed with dossier__v1__response__free_unpacked(r, NULL).
    Otherwise returns DOSSIER_DEADLINE_EXCEEDED (no reply in time),
    DOSSIER_UNAVAILABLE (socket could not be set up or send failed) or
    DOSSIER_INTERNAL (the reply is not a Response with our id), and
    *response_p is untouched. */
int testserver_call(const char *endpoint, const char *method,
                    const ProtobufCMessage *request,
                    Dossier__V1__Response **response_p, int timeout_ms);

/*  Packs the Request testserver_call sends, {id, method, payload =
    packed request (NULL: empty payload), deadline_ms (0: none)}, for a
    test that speaks the envelope itself (a DEALER, a malformed frame).
    Returns the bytes, the caller's (free()), and their number in
    *size_p; asserts (cmocka) that memory was found, so it belongs on the
    test's thread. */
uint8_t *testserver_pack_request(uint64_t id, const char *method,
                                 const ProtobufCMessage *request,
                                 uint32_t deadline_ms, size_t *size_p);

/*  Calls method on endpoint (5 s timeout) and asserts (cmocka) that a
    Response arrived with code expect_code, printing the Response's
    message when not. When expect_code is 0 and output is not NULL,
    asserts that the payload decodes as output and returns it, the
    caller's (free with protobuf_c_message_free_unpacked(m, NULL));
    otherwise returns NULL. */
ProtobufCMessage *testserver_expect(const char *endpoint, const char *method,
                                    const ProtobufCMessage *request,
                                    int expect_code,
                                    const ProtobufCMessageDescriptor *output);

/*  A DEALER socket in context (borrowed), connected to endpoint, with
    LINGER 0 and a receive timeout of timeout_ms; the caller closes it.
    Asserts (cmocka) that it could be made. */
void *testserver_dealer(void *context, const char *endpoint, int timeout_ms);

#endif
