/*  checks.h: the checks of a request's fields that several methods share.

    Every check of what a caller sent lives in api/: the envelope's
    (api/request.h) and these field checks here, each with one message
    that names the field at fault and what would be accepted. Two kinds
    of check live with the store, because they are facts of its data: the
    grammar of a record id (store_check_id, also applied to every write)
    and what needs the stored data (a page token, a query against the
    index). */
#ifndef DOSSIER_SERVER_CHECKS_H
#define DOSSIER_SERVER_CHECKS_H

#include <stdint.h>

#include "dossier/v1/rpc.pb-c.h"
#include "exec/job.h"
#include "status.h"

/*  Longest idempotency key accepted, in bytes. */
#define CHECKS_IDEMPOTENCY_KEY_MAX 128

/*  A dossier.v1.Tier value (0 to 5). */
dossier_status_t checks_tier(const char *field, int tier, dossier_error_t *err);

/*  A page size against this server's max_page_size (max): writes into
    *page_size the size asked for, or for 0 the smaller of default_size
    and max. Over max is DOSSIER_INVALID_ARGUMENT naming field. */
dossier_status_t checks_page_size(const char *field, uint32_t asked,
                                  uint32_t default_size, uint32_t max,
                                  uint32_t *page_size, dossier_error_t *err);

/*  Reads request's "consistency" metadata entry (if any) into
    job->strong: "strong" sets it, "local" (the default) clears it.
    Returns DOSSIER_OK, or DOSSIER_INVALID_ARGUMENT with err set for
    any other value. */
dossier_status_t checks_consistency(const Dossier__V1__Request *request,
                                    job_t *job, dossier_error_t *err);

/*  Copies request's "idempotency-key" metadata entry (if any) into
    job->idempotency_key ("" without one). Returns DOSSIER_OK, or
    DOSSIER_INVALID_ARGUMENT with err set for a key that is empty or
    longer than CHECKS_IDEMPOTENCY_KEY_MAX. */
dossier_status_t checks_idempotency_key(const Dossier__V1__Request *request,
                                        job_t *job, dossier_error_t *err);

#endif
