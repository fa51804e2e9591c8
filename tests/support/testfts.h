/*  testfts.h: reaching into the full-text index's LMDB databases from a
    test, to damage or downgrade it on purpose (store/fts/fts.h has the
    layout). */
#ifndef DOSSIER_TESTFTS_H
#define DOSSIER_TESTFTS_H

#include <lmdb.h>

/*  Deletes every entry (df entries and blocks) of the filter terms whose
    text starts with prefix ("\x01" alone: every filter term) from every
    postings database (fts_post, fts_post_01 .. fts_post_63) open-able in
    txn, a write transaction of the store's environment. Fails the test on
    an LMDB error. Returns how many entries went. */
int testfts_remove_filter_entries(MDB_txn *txn, const char *prefix);

#endif
