/*  store/fts/terms.h: a document's terms, tokenized ahead of its write.

    The one part of the full-text index that needs no LMDB: a thread that
    prepares writes (a worker parsing an import) tokenizes each report
    here and hands the terms to store_put (store_put_args_t.terms), taking
    that work off the one thread that writes. Kept apart from fts.h so
    that code above the store can use it without including lmdb.h. */
#ifndef DOSSIER_STORE_FTS_TERMS_H
#define DOSSIER_STORE_FTS_TERMS_H

#include "dossier/v1/report.pb-c.h"

/*  A document's terms, tokenized ahead of its write: a thread that
    prepares writes (a worker parsing an import) takes this work off the
    one thread that writes. */
typedef struct store_fts_terms_t store_fts_terms_t;

/*  The buffers one thread tokenizes report after report in, kept between
    store_fts_terms_new calls so each report does not allocate and grow
    its own. Owned by one thread at a time. */
typedef struct store_fts_scratch_t store_fts_scratch_t;

/*  A new, empty scratch; NULL when out of memory. The caller owns it. */
store_fts_scratch_t *store_fts_scratch_new(void);

/*  Frees scratch; takes NULL; nulls *scratch_p. */
void store_fts_scratch_destroy(store_fts_scratch_t **scratch_p);

/*  Tokenizes the title and body of report (borrowed) as store_fts_update
    would, in scratch (the caller's, reused; NULL uses buffers of the
    call's own). Returns the caller's terms, one allocation sized to them
    (free with store_fts_terms_destroy), or NULL when out of memory. Safe
    on any thread: it reads no index. */
store_fts_terms_t *store_fts_terms_new(const Dossier__V1__Report *report,
                                       store_fts_scratch_t *scratch);

/*  Frees terms; takes NULL; nulls *terms_p. */
void store_fts_terms_destroy(store_fts_terms_t **terms_p);

#endif
