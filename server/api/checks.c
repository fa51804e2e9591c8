/*  checks.c: field checks shared by the handlers. See checks.h. */
#include <stdbool.h>
#include <string.h>

#include "api/checks.h"
#include "dossier/v1/report.pb-c.h"

dossier_status_t
checks_tier(const char *field, int tier, dossier_error_t *err) {
    if (tier < DOSSIER__V1__TIER__TIER_UNSPECIFIED ||
        tier > DOSSIER__V1__TIER__SPECIAL_CASE) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s %d is not a dossier.v1.Tier value (0 to "
                                 "5)",
                                 field, tier);
    }
    return DOSSIER_OK;
}

dossier_status_t
checks_page_size(const char *field, uint32_t asked, uint32_t default_size,
                 uint32_t max, uint32_t *page_size, dossier_error_t *err) {
    if (asked == 0) {
        asked = default_size < max ? default_size : max;
    }
    if (asked > max) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s %u is over this server's max_page_size "
                                 "%u; ask for at most %u and follow "
                                 "next_page_token",
                                 field, asked, max, max);
    }
    *page_size = asked;
    return DOSSIER_OK;
}

dossier_status_t
checks_consistency(const Dossier__V1__Request *request, job_t *job,
                   dossier_error_t *err) {
    job->strong = false;
    for (size_t i = 0; i < request->n_metadata; i++) {
        const Dossier__V1__Request__MetadataEntry *entry = request->metadata[i];
        if (!entry->key || strcmp(entry->key, "consistency") != 0) {
            continue;
        }
        if (entry->value && strcmp(entry->value, "strong") == 0) {
            job->strong = true;
        } else if (entry->value && strcmp(entry->value, "local") == 0) {
            job->strong = false;
        } else {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "metadata consistency must be "
                                     "\"strong\" or \"local\"");
        }
    }
    return DOSSIER_OK;
}

dossier_status_t
checks_idempotency_key(const Dossier__V1__Request *request, job_t *job,
                       dossier_error_t *err) {
    job->idempotency_key[0] = '\0';
    for (size_t i = 0; i < request->n_metadata; i++) {
        const Dossier__V1__Request__MetadataEntry *entry = request->metadata[i];
        if (!entry->key || strcmp(entry->key, "idempotency-key") != 0) {
            continue;
        }
        size_t size = entry->value ? strlen(entry->value) : 0;
        if (size == 0 || size > CHECKS_IDEMPOTENCY_KEY_MAX) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "metadata idempotency-key has %zu bytes; "
                                     "send 1 to %d (a random hex string)",
                                     size, CHECKS_IDEMPOTENCY_KEY_MAX);
        }
        memcpy(job->idempotency_key, entry->value, size + 1);
    }
    return DOSSIER_OK;
}
