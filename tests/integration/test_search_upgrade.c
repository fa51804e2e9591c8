/*  test_search_upgrade.c: a dossierd started on a store whose full-text
    index is of the previous layout (format 4, without the filter terms
    that format 5 searches filters by) rebuilds the index before it
    serves, so a filtered Search over the wire answers as before the
    upgrade, never from the old layout (which would find nothing). The
    test writes through a real server, stops it, turns the index back
    into format 4 in the LMDB file as an older dossierd left it, and
    starts the server again on the same directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "dossier.h"
#include "testassert.h"
#include "testfts.h"
#include "testserver.h"

static const struct {
    const char *id, *code, *body;
    uint32_t year;
    Dossier__V1__Tier tier;
} s_docs[] = {
    {"u1", "AZE", "forced labor in farms", 2004, DOSSIER__V1__TIER__TIER_2},
    {"u2", "AZE", "forced labor in camps", 2005, DOSSIER__V1__TIER__TIER_3},
    {"u3", "CIV", "forced labor on cocoa farms", 2005,
     DOSSIER__V1__TIER__TIER_2},
    {"u4", "AZE", "forced marriage", 2006, DOSSIER__V1__TIER__TIER_3},
};

/*  The ids of Search "forced" under a year, country and tier filter,
    in rank order ("u4 u2"). */
static void
s_filtered(const char *endpoint, char *out, size_t size) {
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(endpoint, NULL, &client, &err), &err);
    Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
    Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
    req.query = "forced";
    filter.country = "Azerbaijan";
    filter.year_min = 2005;
    filter.year_max = 2006;
    filter.tier = DOSSIER__V1__TIER__TIER_3;
    req.filter = &filter;
    Dossier__V1__SearchResponse *resp = NULL;
    assert_ok(dossier_search(client, &req, &resp, &err), &err);
    out[0] = '\0';
    for (size_t i = 0; i < resp->n_hits; i++) {
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "",
                 resp->hits[i]->report->id);
    }
    assert_int_equal(resp->total_hits, resp->n_hits);
    dossier__v1__search_response__free_unpacked(resp, NULL);
    dossier_client_destroy(&client);
}

/*  Makes the store in dir look as a format-4 dossierd left it: no filter
    terms ("\x01" after the 4-byte segment id) in any postings database,
    and "format" 4 in the index's meta database. Returns the entries
    removed. */
static int
s_downgrade_index(const char *dir) {
    MDB_env *env;
    MDB_txn *txn;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 128), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    int removed = testfts_remove_filter_entries(txn, "\x01");
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(txn, "fts_meta", 0, &meta), 0);
    uint8_t four[4] = {4, 0, 0, 0};
    MDB_val key = {6, "format"}, val = {4, four};
    assert_int_equal(mdb_put(txn, meta, &key, &val, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    return removed;
}

static void
test_old_index_rebuilt_before_serving(void **state) {
    (void)state;
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_ok(
        dossier_client_new(testserver_endpoint(server), NULL, &client, &err),
        &err);
    for (size_t i = 0; i < sizeof s_docs / sizeof s_docs[0]; i++) {
        Dossier__V1__Report r;
        dossier__v1__report__init(&r);
        char *body[1] = {(char *)s_docs[i].body};
        r.id = (char *)s_docs[i].id;
        r.title = "report";
        r.country_code = (char *)s_docs[i].code;
        r.year = s_docs[i].year;
        r.tier = s_docs[i].tier;
        r.publisher = "US DoS";
        r.publication_date = "2006-06-01";
        r.doc_type = "Trafficking in Persons Report";
        r.cite_as = "cite";
        r.body = body;
        r.n_body = 1;
        assert_ok(dossier_put(client, &r, 0, false, NULL, &err), &err);
    }
    dossier_client_destroy(&client);
    char before[64];
    s_filtered(testserver_endpoint(server), before, sizeof before);
    assert_string_equal(before, "u4 u2"); /* u4 is shorter */

    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    assert_true(s_downgrade_index(testserver_datadir(server)) > 0);
    assert_int_equal(testserver_restart(server), 0);

    char after[64];
    s_filtered(testserver_endpoint(server), after, sizeof after);
    assert_string_equal(after, before);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_index_rebuilt_before_serving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
