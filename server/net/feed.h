/*  feed.h: the change feed, a ZeroMQ PUB socket.

    After each durable commit the writer publishes one two-frame message
    per record write: the topic frame FEED_TOPIC, then a packed
    dossier.v1.ChangeEvent (docs/PROTOCOL.md "Change feed"). A subscriber
    that falls behind by more than the send high-water mark misses
    messages (PUB drops them); the server never waits for one. With
    CURVE on, the socket is made a CURVE server with the same key and ZAP
    handler as the front socket, so only admitted users can subscribe.

    A PUB socket does not know who its subscribers are, so when a reload
    takes keys away (feed_revoke), the feed is unbound and bound again on
    the same endpoint before its next event: every subscriber is
    disconnected, reconnects (libzmq does it by itself) and is admitted
    again only if its key still is.

    The socket is created by the loop's thread before the writer starts,
    then used only by the writer (publish, and the rebind in it) until the
    writer is joined. */
#ifndef DOSSIER_SERVER_FEED_H
#define DOSSIER_SERVER_FEED_H

#include <stddef.h>

#include "status.h"

#define FEED_TOPIC "dossier.v1.change"

typedef struct feed_t feed_t;

/*  Makes a PUB socket in context (borrowed, outlives the feed), calls
    secure(secure_arg, socket, err) on it when secure is not NULL (to make
    it a CURVE server before it binds), sets the send high-water mark
    sndhwm (0: unlimited) and the handshake time handshake_ms (a
    connection that has not finished its handshake by then is dropped),
    and binds endpoint. Only one feed per context. Returns the feed, the
    caller's, or NULL with err set (DOSSIER_UNAVAILABLE when endpoint
    cannot be bound). */
feed_t *feed_new(void *context, const char *endpoint, int sndhwm,
                 int handshake_ms,
                 dossier_status_t (*secure)(void *secure_arg, void *socket,
                                            dossier_error_t *err),
                 void *secure_arg, dossier_error_t *err);

/*  Asks for the rebind described above, before the next event is
    published. Any thread may call it (the loop does, after a reload). */
void feed_revoke(feed_t *self);

/*  The endpoint bound (with the port chosen for "tcp://...:*");
    borrowed. */
const char *feed_endpoint(const feed_t *self);

/*  Rebinds first when feed_revoke was called since the last rebind
    (waiting at most a second for the old listener to close), then sends
    [FEED_TOPIC][event] without waiting; a message no subscriber can take
    now is dropped. Returns 0, or -1 when ZeroMQ refused it or the feed
    could not be bound again (the next call tries again). */
int feed_publish(feed_t *self, const void *event, size_t size);

/*  Messages published so far. */
unsigned long feed_published(const feed_t *self);

/*  Closes the socket (dropping what is still queued) and frees the feed;
    takes NULL; sets *self_p to NULL. */
void feed_destroy(feed_t **self_p);

#endif
