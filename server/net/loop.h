/*  loop.h: the ROUTER socket loop: poll, decode, dispatch, reply.

    The loop owns every socket of the front end: the ROUTER clients talk
    to, one inproc:// PAIR per worker and one for the writer, and with
    CURVE the ZAP handler's socket, whose requests auth answers. It reads
    [identity][empty][Request] frame sets, decodes the Request, has it
    checked in one place (api/request.h: the method, the role, the
    payload, the deadline), then runs
    cheap methods inline and hands the others (by pointer) to an idle
    worker or the writer, sending each reply as its job comes back. Every
    error reply goes through one function. The loop never touches the
    store: inline handlers do, through the store API (api/). */
#ifndef DOSSIER_SERVER_LOOP_H
#define DOSSIER_SERVER_LOOP_H

#include <signal.h>
#include <stdint.h>

#include "api/handlers.h"
#include "config.h"
#include "net/auth.h"
#include "status.h"

typedef struct loop_t loop_t;

/*  Creates the sockets, binds config->bind, and starts the workers and
    the writer (with SIGINT and SIGTERM blocked in them, so signals reach
    the main thread). methods_init() must have succeeded. env gives the
    handlers' store (the loop passes it on and never calls it); the loop
    fills the rest of each thread's copy. config, env's store and auth
    (auth_new: the security mode; the ROUTER is made a CURVE server when
    it says so) are borrowed and must outlive the loop. Returns the loop,
    or NULL with err set (DOSSIER_UNAVAILABLE when the endpoint cannot be
    bound). */
loop_t *loop_new(const config_t *config, const handler_env_t *env, auth_t *auth,
                 dossier_error_t *err);

/*  The endpoint actually bound ("tcp://127.0.0.1:40123" when the port was
    '*' or 0); borrowed, valid for the loop's lifetime. */
const char *loop_endpoint(const loop_t *self);

/*  Serves until *stop becomes non-zero, then drains: new requests get
    UNAVAILABLE (Health answers NOT_SERVING), requests in flight finish
    (waiting at most config->shutdown_timeout_ms; those still queued are
    then answered UNAVAILABLE), and the threads are stopped and joined.
    Returns DOSSIER_OK, or an error when polling failed for good. */
dossier_status_t loop_run(loop_t *self, volatile sig_atomic_t *stop,
                          dossier_error_t *err);

/*  The text an error reply carries for message: cut to fit out (size
    bytes with the NUL, at a character boundary) and made valid UTF-8,
    each bad byte a '?' (Response.message is a protobuf string, and
    error messages quote what the client sent). out may be message.
    Every error reply takes its text from here, and so does
    fuzz/fuzz_envelope.c, so that its inputs meet the loop's own check.
    Returns out. */
char *loop_error_message(char *out, size_t size, const char *message);

/*  Replies sent so far. */
uint64_t loop_replies(const loop_t *self);

/*  Closes the sockets (waiting briefly for replies still being sent) and
    frees the loop; joins the threads if loop_run did not; takes NULL;
    sets *self_p to NULL. */
void loop_destroy(loop_t **self_p);

#endif
