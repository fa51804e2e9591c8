/*  tokens.h: API tokens, which dossier-gateway's HTTP callers send
    (docs/PROTOCOL.md, "Tokens").

    An admin makes one with CreateToken: a name, a role (reader, writer
    or admin) and maybe an expiry. Its string is

        dossier_<id>_<secret>

    with id 12 lower-case hex digits (public: ListTokens and RevokeToken
    name it) and secret 43 characters of base64url (256 random bits).
    The store keeps the SHA-256 of the whole string, never the string;
    the reply of CreateToken is the only place it appears, and it is kept
    under no idempotency key.

    A Request carries one as metadata "authorization" = "Bearer <token>"
    (as the gateway received the HTTP header). tokens_authenticate
    decides, per request and with nothing cached, so a revoke or an
    expiry holds from the next request on:
    - on a connection that honours tokens (job->tokens_honoured: a user
      whose role is gateway, or any peer in the keyless loopback mode), a
      valid token makes its name and role the caller (for the role check,
      created_by, the audit log, WhoAmI), the connection's user going to
      job->via; in the keyless mode the role is at most the connection's,
      so a token only narrows there. An unknown, malformed, wrong,
      revoked or expired token is UNAUTHENTICATED;
    - anywhere else a token is PERMISSION_DENIED: it is never silently
      ignored. */
#ifndef DOSSIER_SERVER_TOKENS_H
#define DOSSIER_SERVER_TOKENS_H

#include "dossier/v1/rpc.pb-c.h"
#include "exec/job.h"
#include "status.h"

struct store_t;

/* The metadata key that carries a token, and its scheme. */
#define TOKENS_METADATA_KEY "authorization"
#define TOKENS_SCHEME "Bearer"

/*  Applies the token of request (borrowed), if it has one, to job's
    caller, looking it up in store (borrowed; a read on this thread).
    Returns DOSSIER_OK when there is no token (job unchanged), when the
    connection's user has no role (the role check refuses it), or when
    the token is valid (then job->user, role, via and token_id are the
    token's); else DOSSIER_UNAUTHENTICATED or DOSSIER_PERMISSION_DENIED
    (a token on a connection that does not honour tokens), or the
    store's failure, with err saying why in a sentence that never holds
    the secret. */
dossier_status_t tokens_authenticate(struct store_t *store,
                                     const Dossier__V1__Request *request,
                                     job_t *job, dossier_error_t *err);

#endif
