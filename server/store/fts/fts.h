/*  store/fts/fts.h: the full-text index inside the store (private to the
    store module: only store/ includes lmdb.h).

    Layout, in named databases of the store's LMDB environment:
      fts_post   seg term "\0"            -> df (u32 LE): documents of
                                             segment seg holding term
                 seg term "\0" first (BE) -> a postings block (below)
      fts_ids    record id                -> docno (u32 LE)
      fts_docs   docno (integer key)      -> record id
      fts_attrs  docno / 64 (int key)     -> 64 fixed records: length in
                                             terms, country, publisher,
                                             date, year, tier, live,
                                             document type
      fts_dict   kind value               -> small integer (country,
                                             publisher, document type)
                 kind|0x80 id (BE)        -> value as first seen
      fts_meta   "state"                  -> next docno, live docs, total
                                             length
                 "segs"                   -> the segments: id, level, docno
                                             range
                 "format"                 -> layout version (an older one
                                             is rebuilt from the records)
    seg is a 4-byte big-endian segment id. Documents are numbered by a
    dense uint32 docno, a new one on every write. A segment holds the
    postings of a docno range (one batch, or the merge of several); a
    postings block holds up to 128 documents of one term: a header (count,
    last docno, the largest term frequency and the smallest document
    length in the block, which bound any BM25 score in it), then docno
    deltas with term frequencies, then the positions, apart, so ranking
    never decodes them.

    Writes: store_fts_update indexes a document in the caller's write
    transaction: its docno, attributes and collection statistics at once,
    its postings in the handle's in-memory write buffer, which
    store_fts_flush writes as a new segment (and merges segments), and
    which the caller must run in the same transaction before committing
    it. The buffer holds one batch's postings: its memory grows with the
    batch (about the size of the batch's text).
    Reads: store_fts_search and store_fts_check run inside a read
    transaction the caller owns. */
#ifndef DOSSIER_STORE_FTS_H
#define DOSSIER_STORE_FTS_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "status.h"
#include "store/fts/terms.h"

/* Postings live in one named database per segment slot, so that a
   merged-away segment is emptied with mdb_drop (its pages freed whole)
   rather than entry by entry; a slot is reused once emptied. */
#define STORE_FTS_SEGMENT_SLOTS 65

/* Named databases store_fts_open opens: add to the env's maxdbs. */
#define STORE_FTS_DBS (5 + STORE_FTS_SEGMENT_SLOTS)

/* Default and largest page size of a search. */
#define STORE_FTS_PAGE_SIZE 10
#define STORE_FTS_MAX_PAGE_SIZE 1000

typedef struct store_fts_t store_fts_t;

/*  Opens (creating if needed) the index's databases in write transaction
    txn (the caller commits it, or aborts it and destroys the handle).
    records is the store's database of packed reports by id, read by
    search (hits, snippets) and check. When the index is new or of an
    older layout, empties it and marks it for a rebuild from the records,
    which the caller then runs with store_fts_rebuild_step before serving
    (a store written before the index existed, or by an older dossierd).
    On success (0) *fts_p is the caller's, freed with store_fts_destroy;
    else returns an LMDB or errno code. */
int store_fts_open(MDB_txn *txn, MDB_dbi records, store_fts_t **fts_p);

/*  Indexes the next records (at most max_docs, in id order) of an index
    marked for a rebuild, flushes them and records how far it got, all in
    write transaction txn: the caller commits it, so that no transaction
    holds more than a step, and a rebuild cut short (a crash, a full map)
    resumes where the last committed step ended. After a failure the
    caller aborts txn and calls store_fts_reset. Sets *done when nothing
    is left to rebuild (at once when none was marked) and *indexed to the
    records this step read. Returns 0 or an LMDB/errno code (MDB_MAP_FULL:
    grow the map and run the step again). */
int store_fts_rebuild_step(store_fts_t *fts, MDB_txn *txn, size_t max_docs,
                           bool *done, size_t *indexed);

/*  Frees the handle and its write buffer (the databases stay); takes
    NULL; nulls *fts_p. */
void store_fts_destroy(store_fts_t **fts_p);

/* ---- Writes: the handle buffers one write transaction at a time (the
   store's batch), from the thread that owns it. ---- */

/*  Re-indexes one record in txn: old_report is the record as stored
    before this write (NULL when there was none), new_report the record
    as written (NULL for a delete); both borrowed. Replace and delete
    remove every posting of the old version (found by old_report's
    terms). Call it as the write's last step. On failure the write buffer
    is as before the call and the caller aborts the write's LMDB changes;
    store_fts_rc tells the LMDB code (MDB_MAP_FULL: grow and replay). A
    caller that undoes the write for another reason after this returned OK
    calls store_fts_reset and indexes the batch's other writes again. */
dossier_status_t store_fts_update(store_fts_t *fts, MDB_txn *txn,
                                  const Dossier__V1__Report *old_report,
                                  const Dossier__V1__Report *new_report,
                                  dossier_error_t *err);

/*  store_fts_update with new_report's terms already tokenized: terms come
    from store_fts_terms_new(new_report) with new_report's title and body
    unchanged since (borrowed); NULL tokenizes here. */
dossier_status_t store_fts_update_terms(store_fts_t *fts, MDB_txn *txn,
                                        const Dossier__V1__Report *old_report,
                                        const Dossier__V1__Report *new_report,
                                        const store_fts_terms_t *terms,
                                        dossier_error_t *err);

/*  Writes the buffered postings into txn: call it right before committing
    txn (and again after a retry replayed the writes into a new
    transaction). Empties the buffer on success. On failure the caller
    aborts txn (store_fts_rc tells the LMDB code). */
dossier_status_t store_fts_flush(store_fts_t *fts, MDB_txn *txn,
                                 dossier_error_t *err);

/*  With defer true, store_fts_flush leaves the merges of large segments
    (those of bulk writes, which rewrite tens of thousands of documents'
    postings) to store_fts_merge, which the caller runs when it has time;
    it still merges small segments, and every segment due once the index
    holds many (each costs a search one seek per term). Off by default:
    every flush merges what is due. */
void store_fts_defer_merges(store_fts_t *fts, bool defer);

/*  Merges in txn the first run of segments due for a merge, whatever its
    size. *merged: whether it did; *more: whether another run is due after
    it. On failure the caller aborts txn (store_fts_rc tells the LMDB
    code); nothing else of the handle changes. */
dossier_status_t store_fts_merge(store_fts_t *fts, MDB_txn *txn, bool *merged,
                                 bool *more, dossier_error_t *err);

/*  *n: the index's segments in txn's view; *merge_due: whether a run of
    them is due for a merge (store_fts_merge would merge). */
dossier_status_t store_fts_segments(store_fts_t *fts, MDB_txn *txn, uint32_t *n,
                                    bool *merge_due, dossier_error_t *err);

/*  Discards everything buffered: the write transaction it belonged to
    was aborted (or is about to be replayed from the start). */
void store_fts_reset(store_fts_t *fts);

/*  The code of the last failed store_fts_update or store_fts_flush:
    an LMDB code (MDB_MAP_FULL when the map must grow), ENOMEM,
    MDB_CORRUPTED for damaged index data, EINVAL for a bad argument; 0
    after a success. */
int store_fts_rc(const store_fts_t *fts);

/* ---- Reads, in a read transaction the caller owns. ---- */

/*  Answers request in read transaction txn. page_size must be at most
    max_page_size (0: STORE_FTS_MAX_PAGE_SIZE); 0 asks for the default.
    Bad queries, filters, tokens: DOSSIER_INVALID_ARGUMENT. When
    request->estimate_total_hits is set, the query has a phrase and no
    facets are asked for, phrases are checked only for documents that can
    still enter the page: the hits are the same, total_hits becomes an
    estimate and total_hits_estimated is set (unless every candidate was
    checked, which makes it exact). On success
    *response_p is the caller's, freed with
    dossier__v1__search_response__free_unpacked(response, NULL). */
dossier_status_t store_fts_search(store_fts_t *fts, MDB_txn *txn,
                                  const Dossier__V1__SearchRequest *request,
                                  uint32_t max_page_size,
                                  Dossier__V1__SearchResponse **response_p,
                                  dossier_error_t *err);

/*  Verifies in read transaction txn that the index matches the records:
    every record has its docno, attributes and exactly its postings (terms,
    frequencies, positions), no posting or docno lacks its record, and the
    statistics add up. Adds the disagreements to *problems; the first one
    found (when *problems was 0) is described in err with code
    DOSSIER_DATA_LOSS. Returns 0 when the check ran (whatever it found),
    else an LMDB or errno code. */
int store_fts_check(store_fts_t *fts, MDB_txn *txn, uint64_t *problems,
                    dossier_error_t *err);

#endif
