/*  test_cluster_entry.c: a cluster's Raft entries (cluster/entry.h) and
    settings (cluster/peers.h) as hostile bytes and text, without Raft or
    a server: an entry round-trips with its writes and callers, is padded
    to 8 bytes, and anything short, foreign or lying about its length is
    refused; --peers and --raft refuse what libraft 0.15 would misread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/methods.h"
#include "cluster/entry.h"
#include "cluster/peers.h"
#include "dossier/v1/cluster.pb-c.h"
#include "dossier/v1/reports.pb-c.h"

static job_t *
s_put_job(const char *id, const char *user, const char *key) {
    job_t *job = job_new();
    assert_non_null(job);
    job->method = methods_find("dossier.v1.Reports/Put");
    assert_non_null(job->method);
    Dossier__V1__PutRequest *put = calloc(1, sizeof *put);
    Dossier__V1__Report *report = calloc(1, sizeof *report);
    assert_non_null(put);
    assert_non_null(report);
    dossier__v1__put_request__init(put);
    dossier__v1__report__init(report);
    report->id = strdup(id);
    put->report = report;
    put->expected_version = 3;
    job->input = &put->base;
    snprintf(job->user, sizeof job->user, "%s", user);
    snprintf(job->idempotency_key, sizeof job->idempotency_key, "%s", key);
    job->role = ROLE_WRITER;
    return job;
}

static void
test_batch_round_trip(void **state) {
    (void)state;
    dossier_error_t err = {0};
    assert_int_equal(methods_init(&err), DOSSIER_OK);
    job_t *jobs[3] = {s_put_job("a-1", "alice", "k1"),
                      s_put_job("b-2", "bob", "")};
    jobs[2] = job_new();
    jobs[2]->method = methods_find("dossier.v1.Reports/Delete");
    jobs[2]->audit_only = true;
    jobs[2]->code = DOSSIER_PERMISSION_DENIED;
    snprintf(jobs[2]->message, sizeof jobs[2]->message, "no");
    cluster_entry_t head = {.origin = 2, .boot = 0xfeedULL, .seq = 7};
    size_t size = 0;
    uint8_t *data = cluster_entry_pack_batch(&head, jobs, 3, &size, &err);
    assert_non_null(data);
    assert_int_equal(size % 8, 0);
    cluster_entry_set_time(data, 1796000000123LL);

    cluster_entry_t entry;
    assert_true(cluster_entry_decode(data, size, &entry));
    assert_int_equal(entry.type, CLUSTER_ENTRY_BATCH);
    assert_int_equal(entry.origin, 2);
    assert_int_equal(entry.boot, 0xfeed);
    assert_int_equal(entry.seq, 7);
    assert_int_equal(entry.time_ms, 1796000000123LL);
    job_t **back = NULL;
    size_t n = 0;
    assert_int_equal(cluster_entry_unpack_batch(&entry, &back, &n, &err),
                     DOSSIER_OK);
    assert_int_equal(n, 3);
    const Dossier__V1__PutRequest *put = (const void *)back[0]->input;
    assert_string_equal(put->report->id, "a-1");
    assert_int_equal(put->expected_version, 3);
    assert_string_equal(back[0]->user, "alice");
    assert_string_equal(back[0]->idempotency_key, "k1");
    assert_int_equal(back[0]->role, ROLE_WRITER);
    assert_string_equal(back[1]->user, "bob");
    assert_true(back[2]->audit_only);
    assert_int_equal(back[2]->code, DOSSIER_PERMISSION_DENIED);
    assert_string_equal(back[2]->message, "no");
    assert_ptr_equal(back[2]->method, jobs[2]->method);
    for (size_t i = 0; i < n; i++) {
        job_destroy(&back[i]);
    }
    free(back);

    /* Lies and damage: each refused, never read past the end. */
    assert_false(cluster_entry_decode(data, CLUSTER_ENTRY_HEADER - 1, &entry));
    uint8_t *copy = malloc(size);
    memcpy(copy, data, size);
    copy[0] = 'X';
    assert_false(cluster_entry_decode(copy, size, &entry));
    memcpy(copy, data, size);
    copy[40] = 0x7f; /* a length far past the end */
    assert_false(cluster_entry_decode(copy, size, &entry));
    memcpy(copy, data, size);
    copy[7] = 9; /* an unknown type */
    assert_false(cluster_entry_decode(copy, size, &entry));
    /* A payload that is no ClusterBatch. */
    memcpy(copy, data, size);
    memset(copy + CLUSTER_ENTRY_HEADER, 0xff, size - CLUSTER_ENTRY_HEADER);
    assert_true(cluster_entry_decode(copy, size, &entry));
    assert_int_equal(cluster_entry_unpack_batch(&entry, &back, &n, &err),
                     DOSSIER_INVALID_ARGUMENT);
    free(copy);
    free(data);
    for (size_t i = 0; i < 3; i++) {
        job_destroy(&jobs[i]);
    }
}

/*  A write naming a method this server lacks, or a request that does
    not decode, is left out in its place (NULL), the others kept. */
static void
test_unknown_writes_left_out(void **state) {
    (void)state;
    dossier_error_t err = {0};
    assert_int_equal(methods_init(&err), DOSSIER_OK);
    Dossier__V1__ClusterWrite w[3];
    Dossier__V1__ClusterWrite *pw[3] = {&w[0], &w[1], &w[2]};
    for (int i = 0; i < 3; i++) {
        dossier__v1__cluster_write__init(&w[i]);
    }
    w[0].method = "dossier.v1.Reports/Nope";
    w[1].method = "dossier.v1.Reports/Get"; /* writes nothing */
    w[2].method = "dossier.v1.Reports/Delete";
    uint8_t junk[] = {0xff, 0xff, 0xff};
    w[2].input.data = junk;
    w[2].input.len = sizeof junk;
    Dossier__V1__ClusterBatch batch = DOSSIER__V1__CLUSTER_BATCH__INIT;
    batch.writes = pw;
    batch.n_writes = 3;
    size_t size = dossier__v1__cluster_batch__get_packed_size(&batch);
    uint8_t *payload = malloc(size);
    dossier__v1__cluster_batch__pack(&batch, payload);
    cluster_entry_t entry = {
        .type = CLUSTER_ENTRY_BATCH, .payload = payload, .payload_size = size};
    job_t **back = NULL;
    size_t n = 0;
    assert_int_equal(cluster_entry_unpack_batch(&entry, &back, &n, &err),
                     DOSSIER_OK);
    assert_int_equal(n, 3);
    assert_null(back[0]);
    assert_null(back[1]);
    assert_null(back[2]);
    free(back);
    free(payload);
}

static void
test_peers(void **state) {
    (void)state;
    cluster_peers_t peers;
    dossier_error_t err = {0};
    assert_int_equal(
        cluster_peers_parse("1=127.0.0.1:7601,2=127.0.0.2:7602", &peers, &err),
        DOSSIER_OK);
    assert_int_equal(peers.n, 2);
    assert_int_equal(peers.nodes[1].id, 2);
    assert_string_equal(peers.nodes[1].address, "127.0.0.2:7602");
    const char *bad[] = {
        "",
        ",",
        "1=127.0.0.1:7601,",
        "=127.0.0.1:7601",
        "0=127.0.0.1:7601",
        "1000001=127.0.0.1:7601",
        "-1=127.0.0.1:7601",
        "1 =127.0.0.1:7601",
        "1=127.0.0.1",
        "1=127.0.0.1:",
        "1=127.0.0.1:0",
        "1=127.0.0.1:65536",
        "1=127.0.0.1:+80",
        "1=host:7601",
        "1=[::1]:7601",
        "1=127.0.0.1:7601,1=127.0.0.1:7602",
        "1=127.0.0.1:7601,2=127.0.0.1:7601",
        "1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3,4=127.0.0.1:4,"
        "5=127.0.0.1:5,6=127.0.0.1:6,7=127.0.0.1:7,8=127.0.0.1:8",
        "1=127.0.0.1:7601111111111111111111111111111111111111111111111111111",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cluster_peers_parse(bad[i], &peers, &err) !=
            DOSSIER_INVALID_ARGUMENT) {
            fail_msg("'%s' was taken", bad[i]);
        }
        assert_true(strncmp(err.message, "peers: ", 7) == 0);
    }
    assert_true(cluster_address_is_loopback("127.9.9.9:1"));
    assert_false(cluster_address_is_loopback("10.0.0.1:1"));
    assert_int_equal(cluster_config_check(0, NULL, NULL, false, &err),
                     DOSSIER_OK);
    assert_int_equal(cluster_config_check(1, "10.0.0.1:7601", NULL, true, &err),
                     DOSSIER_OK);
    assert_int_equal(
        cluster_config_check(1, "10.0.0.1:7601", NULL, false, &err),
        DOSSIER_INVALID_ARGUMENT);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_round_trip),
        cmocka_unit_test(test_unknown_writes_left_out),
        cmocka_unit_test(test_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
