/*  events.h: dossierd's change feed relayed to browsers as server-sent
    events (GET /events, text/event-stream).

    One thread subscribes to the feed (docs/PROTOCOL.md, Change feed: a
    ZeroMQ SUB, a CURVE client with the gateway's keys when CURVE is on)
    and keeps the last `buffer` events, each already written as its SSE
    text: "id: N\nevent: change\ndata: {ChangeEvent as proto3 JSON}\n\n",
    N counting the events this gateway has relayed. Each stream (at most
    `max_clients` at once; one more is 503) reads from that ring at its
    own pace on its own connection thread: a stream that falls more than
    `buffer` events behind gets "event: gap" with the number it missed
    and goes on from the oldest kept, so a slow browser costs no memory
    beyond the ring. A stream sends a comment every keepalive_s when
    there is nothing to say (so proxies and the connection timeout keep
    it open). Event ids are "RUN-N": N counts this gateway's events, RUN
    tags this run. A client that sends Last-Event-ID resumes after that
    event when it is still in the ring; an id from an earlier run (the
    gateway restarted) or not one of ours gets "event: gap" with
    "missed":"unknown" first, as the client cannot know what it missed. */
#ifndef DOSSIER_GATEWAY_EVENTS_H
#define DOSSIER_GATEWAY_EVENTS_H

#include <stddef.h>

#include <microhttpd.h>

#include "status.h"

typedef struct events events_t;

typedef struct {
    const char *feed;       /* dossierd's feed endpoint (borrowed) */
    const char *server_key; /* CURVE: dossierd's public key, Z85, or NULL */
    const char *public_key; /* the gateway's key pair, Z85 (with server_key) */
    const char *secret_key;
    unsigned max_clients; /* streams open at once */
    unsigned buffer;      /* events kept for streams behind, at least 1 */
    unsigned keepalive_s; /* comment after this long without an event */
} events_config_t;

/*  Subscribes to config->feed (strings copied) and starts the relay
    thread. Returns DOSSIER_OK and *events_p (the caller's, ended with
    events_destroy), DOSSIER_INVALID_ARGUMENT for a bad endpoint or
    setting, or DOSSIER_INTERNAL. */
dossier_status_t events_new(const events_config_t *config, events_t **events_p,
                            dossier_error_t *err);

/*  Ends every open stream (each sends what it has and closes) and
    refuses new ones: call before stopping the HTTP server, whose
    connection threads the streams hold. Takes NULL. */
void events_stop(events_t *events);

/*  Stops the relay thread, frees everything and sets *events_p to NULL;
    takes NULL. Every stream must have ended (MHD stopped). */
void events_destroy(events_t **events_p);

/*  A new stream, for the caller to queue and destroy: 200 with the
    stream, or 503 when max_clients are open or the relay stopped.
    fd: the connection's socket (borrowed, only polled for a hang-up so
    the stream ends within a second of the browser leaving), or -1.
    last_event_id: the request's Last-Event-ID header, or NULL. Writes
    the status to *status; NULL only when out of memory. */
struct MHD_Response *events_respond(events_t *events, int fd,
                                    const char *last_event_id, int *status);

/*  Streams open now, and events relayed since start (for tests and
    /metrics). */
unsigned events_clients(events_t *events);
unsigned long long events_relayed(events_t *events);

#endif
