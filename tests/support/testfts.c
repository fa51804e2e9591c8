/*  testfts.c: see testfts.h. */
#include "testfts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

int
testfts_remove_filter_entries(MDB_txn *txn, const char *prefix) {
    int removed = 0;
    size_t plen = strlen(prefix);
    for (int slot = 0; slot < 64; slot++) {
        char name[32];
        snprintf(name, sizeof name, slot ? "fts_post_%02d" : "fts_post", slot);
        MDB_dbi dbi;
        if (mdb_dbi_open(txn, name, 0, &dbi) != 0) {
            continue;
        }
        MDB_cursor *cur;
        assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
        MDB_val key, val;
        int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        while (rc == 0) {
            /* A postings key: the 4-byte segment id, then the term. */
            if (key.mv_size > 4 + plen &&
                memcmp((const char *)key.mv_data + 4, prefix, plen) == 0) {
                assert_int_equal(mdb_cursor_del(cur, 0), 0);
                removed++;
                rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
                continue;
            }
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    return removed;
}
