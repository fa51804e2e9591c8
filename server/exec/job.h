/*  job.h: one request on its way through the server.

    The socket loop makes a job from a valid Request (the peer's routing
    identity, the request id, the method, the decoded input message, the
    deadline and the caller's identity), hands it by pointer over an
    inproc:// socket to a worker or the writer when the method does not
    run inline, gets it back the same way, sends the reply and destroys
    it. Exactly one thread touches a job at a time: whoever last received
    its pointer. Handlers fill the outcome (code, message, payload) and
    never see sockets. */
#ifndef DOSSIER_SERVER_JOB_H
#define DOSSIER_SERVER_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

/*  Roles, ordered: each allows what the ones below it allow. Gateway
    stands apart: the role of dossier-gateway's own key, which may call
    Health and Describe itself and otherwise acts only for the API tokens
    its callers send (api/tokens.h). */
typedef enum {
    ROLE_NONE = 0,
    ROLE_READER = 1,
    ROLE_WRITER = 2,
    ROLE_ADMIN = 3,
    ROLE_GATEWAY = 4,
} role_t;

struct method_t;

typedef struct job_t {
    /* Set by the loop; the peer bytes are for the loop alone. */
    uint8_t peer[256];
    size_t peer_size;
    uint64_t request_id;
    const struct method_t *method;
    ProtobufCMessage *input; /* decoded Request.payload, owned */
    int64_t deadline;        /* job_now_ms() clock; 0: none */
    uint32_t deadline_ms;    /* as the request gave it, for messages */
    char user[64];           /* "anonymous" without authentication */
    char user_key[41];       /* the caller's CURVE public key (Z85), or "" */
    role_t role;
    /* Set by the loop: this connection's requests may carry an API token
       (api/tokens.h): a gateway's key, or any peer in the keyless
       loopback mode. */
    bool tokens_honoured;
    /* When a token named the caller (user and role are then the
       token's): the connection's user that carried it, and the token's
       id; else "". */
    char via[64];
    char token_id[16];
    /* An id a write made that its request could not name (CreateToken's
       new token), for its audit entry; or "". */
    char audit_id[16];
    /* Request metadata "idempotency-key" (server/api/audit.h), or "". */
    char idempotency_key[129];
    /* Request metadata "consistency: strong" on a read: on a cluster
       node, the read waits until the node has applied every entry the
       leader had committed when it arrived (a no-op standalone). */
    bool strong;
    /* Not a request: a note for the writer's audit log that a call was
       refused (code, message); destroyed without a reply. */
    bool audit_only;

    /* Between a worker stage and the writer stage (ImportText parses on
       a worker, stores on the writer): set by the first stage. */
    bool to_writer;
    void *state;
    void (*state_free)(void *state);

    /* The outcome. payload is a serialized response message, owned. */
    dossier_status_t code;
    char message[256];
    uint8_t *payload;
    size_t payload_size;
    /* With ABORTED from Put or Delete: the record's current version,
       sent as Response.current_version. */
    uint64_t current_version;

    /* The loop's queue of jobs waiting for a worker. */
    struct job_t *next;

    /* Bumped with release order by job_send and read with acquire order
       by job_recv: the happens-before edge of a handoff is then visible
       to ThreadSanitizer, not only hidden inside libzmq. */
    unsigned handoffs;
} job_t;

/*  A new, zeroed job; NULL when out of memory. */
job_t *job_new(void);

/*  Frees the job, its input, state and payload; takes NULL; sets *job_p
    to NULL. */
void job_destroy(job_t **job_p);

/*  Milliseconds of a monotonic clock, for deadlines. */
int64_t job_now_ms(void);

/*  True when the job has a deadline and it has passed. */
bool job_expired(const job_t *job);

/*  Packs message as the job's payload (replacing any). Returns
    DOSSIER_OK or DOSSIER_RESOURCE_EXHAUSTED. */
dossier_status_t job_set_payload(job_t *job, const ProtobufCMessage *message,
                                 dossier_error_t *err);

/*  Copies size bytes as the job's payload (replacing any). Returns
    DOSSIER_OK or DOSSIER_RESOURCE_EXHAUSTED. */
dossier_status_t job_set_bytes(job_t *job, const void *data, size_t size,
                               dossier_error_t *err);

/*  Sends the job's pointer over an inproc:// socket (the receiver owns
    the job from then on; NULL is the stop / stopped signal). Returns 0, or
    -1 with errno set (the caller still owns the job). */
int job_send(void *socket, job_t *job);

/*  Receives a job pointer sent by job_send into *job_p (NULL: the stop /
    stopped signal). flags as for zmq_recv (ZMQ_DONTWAIT). Returns 0, or
    -1 with errno set (EAGAIN: nothing waiting). */
int job_recv(void *socket, job_t **job_p, int flags);

/*  Records a stage's outcome: code, and err's message when code is not
    DOSSIER_OK (then any payload is dropped: errors carry none). */
void job_finish(job_t *job, dossier_status_t code, const dossier_error_t *err);

#endif
