/*  feed.h: the change feed, a ZeroMQ PUB socket.

    After each durable commit the writer publishes one two-frame message
    per record write: the topic frame FEED_TOPIC, then a packed
    dossier.v1.ChangeEvent (docs/PROTOCOL.md "Change feed"). A subscriber
    that falls behind by more than the send high-water mark misses
    messages (PUB drops them); the server never waits for one. With
    CURVE on, the socket is made a CURVE server with the same key and ZAP
    handler as the front socket, so only admitted users can subscribe.

    The socket is created by the loop's thread before the writer starts,
    then used only by the writer (publish) until the writer is joined. */
#ifndef DOSSIER_SERVER_FEED_H
#define DOSSIER_SERVER_FEED_H

#include <stddef.h>

#include "status.h"

#define FEED_TOPIC "dossier.v1.change"

typedef struct feed_t feed_t;

/*  Makes a PUB socket in context (borrowed, outlives the feed), calls
    secure(secure_arg, socket, err) on it when secure is not NULL (to make
    it a CURVE server before it binds), sets the send high-water mark
    sndhwm (0: unlimited) and binds endpoint. Returns the feed, the
    caller's, or NULL with err set (DOSSIER_UNAVAILABLE when endpoint
    cannot be bound). */
feed_t *feed_new(void *context, const char *endpoint, int sndhwm,
                 dossier_status_t (*secure)(void *secure_arg, void *socket,
                                            dossier_error_t *err),
                 void *secure_arg, dossier_error_t *err);

/*  The endpoint bound (with the port chosen for "tcp://...:*");
    borrowed. */
const char *feed_endpoint(const feed_t *self);

/*  Sends [FEED_TOPIC][event] without waiting; a message no subscriber can
    take now is dropped. Returns 0, or -1 when ZeroMQ refused it. */
int feed_publish(feed_t *self, const void *event, size_t size);

/*  Messages published so far. */
unsigned long feed_published(const feed_t *self);

/*  Closes the socket (dropping what is still queued) and frees the feed;
    takes NULL; sets *self_p to NULL. */
void feed_destroy(feed_t **self_p);

#endif
