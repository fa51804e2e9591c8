/*  test_crash_durability.c: kill -9 a loaded dossierd, again and again.

    One server, one data directory, S_ROUNDS rounds. In each round
    S_WRITERS threads, each with its own libdossier client, Put records:
    mostly new ids of their own ("crash-t3-000042"), sometimes an id they
    wrote before, to bump its version. Every write is tracked per id:

      low   the version of the last ACKNOWLEDGED put (the server said OK
            with PutResponse.version = low): that write is durable, so the
            stored version can never be below it;
      high  low plus the number of puts sent after that acknowledgement
            whose outcome is unknown (timed out, connection lost, killed
            server): each may or may not have committed, and each commit
            adds exactly one to the version, so the stored version is at
            most high;
      title the title of the put that gave low, so that when low == high
            the stored record must be exactly that write.

    Once the first put of the round is acknowledged (at most 10 s), and
    after a further random 100-400 ms (seeded: DOSSIER_TEST_SEED, printed) the
    server gets SIGKILL; while it is down the store is opened directly
    (store_open + store_check: every record and index entry must agree);
    then testserver_restart brings it back on the same data directory.
    After the last round every tracked id is fetched and checked against
    [low, high], and the store is checked once more after a clean stop.

    Bounded: each round writes for at most 10.4 s, a client call waits at
    most 1.5 s, and a thread stops after S_MAX_IDS ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dossier.h"
#include "store/store.h"
#include "testserver.h"

#define S_ROUNDS 5
#define S_WRITERS 6
#define S_MAX_IDS 4000
#define S_CALL_TIMEOUT_MS 1500
/* Of every 10 puts, this many go to an id the thread wrote before. */
#define S_REPUT_IN_10 3

typedef struct {
    uint64_t low;           /* version of the last acknowledged put; 0: none */
    uint64_t high;          /* low + puts of unknown outcome since then */
    uint32_t attempts;      /* puts sent for this id, ever (names titles) */
    uint32_t acked_attempt; /* attempt number of the put that gave low */
} s_id_state_t;

typedef struct {
    int index;
    unsigned seed;
    /* Persist across rounds: the thread's ids and what is known of them. */
    s_id_state_t ids[S_MAX_IDS];
    size_t n_ids;
    /* Per round. */
    const char *endpoint;
    atomic_bool *stop;
    atomic_ulong *acked_any; /* acknowledgements this round, all threads */
    unsigned long acked_round;
    unsigned long failed_round;
    char failure[512];
} s_writer_t;

static void
s_id_name(const s_writer_t *writer, size_t k, char *buf, size_t size) {
    snprintf(buf, size, "crash-t%d-%06zu", writer->index, k);
}

static void
s_title(const s_writer_t *writer, size_t k, uint32_t attempt, char *buf,
        size_t size) {
    snprintf(buf, size, "Crash test t%d id %zu attempt %" PRIu32, writer->index,
             k, attempt);
}

/*  One put of id k; updates its state from the outcome. Returns false when
    the thread should stop (a contract violation was recorded). */
static bool
s_put_one(s_writer_t *writer, dossier_client_t *client, size_t k) {
    s_id_state_t *state = &writer->ids[k];
    char id[64];
    char title[128];
    char body0[160];
    s_id_name(writer, k, id, sizeof id);
    uint32_t attempt = ++state->attempts;
    s_title(writer, k, attempt, title, sizeof title);
    snprintf(body0, sizeof body0,
             "Paragraph of %s written by attempt %" PRIu32
             " while the server may be killed at any moment.",
             id, attempt);
    char *body[] = {body0};
    Dossier__V1__Report report = DOSSIER__V1__REPORT__INIT;
    report.id = id;
    report.title = title;
    report.country = "Azerbaijan";
    report.country_code = "AZE";
    report.year = 2001 + (uint32_t)(k % 20);
    report.tier = DOSSIER__V1__TIER__TIER_2;
    report.doc_type = "Trafficking in Persons Report";
    report.n_body = 1;
    report.body = body;

    Dossier__V1__PutResponse *response = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        dossier_put(client, &report, 0, false, &response, &err);
    if (rc == DOSSIER_OK) {
        uint64_t version = response->version;
        dossier_message_free(response);
        /* The acknowledged version must follow what we know. */
        if (version <= state->low || version > state->high + 1) {
            snprintf(writer->failure, sizeof writer->failure,
                     "%s: put acknowledged version %" PRIu64
                     ", expected in (%" PRIu64 ", %" PRIu64 "]",
                     id, version, state->low, state->high + 1);
            return false;
        }
        state->low = state->high = version;
        state->acked_attempt = attempt;
        writer->acked_round++;
        atomic_fetch_add(writer->acked_any, 1);
    } else {
        /* Unknown outcome: it may have committed before the kill. */
        state->high++;
        writer->failed_round++;
    }
    return true;
}

static void *
s_writer_main(void *arg) {
    s_writer_t *writer = arg;
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = S_CALL_TIMEOUT_MS;
    options.retries = 0;
    options.heartbeat_ivl_ms = 200;
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    if (dossier_client_new(writer->endpoint, &options, &client, &err) !=
        DOSSIER_OK) {
        snprintf(writer->failure, sizeof writer->failure,
                 "dossier_client_new: %s", err.message);
        return NULL;
    }
    /* Bounded by the id space and by the stop flag the main thread sets
       right after the kill; a call to a dead server ends after
       S_CALL_TIMEOUT_MS. */
    for (int op = 0; op < 100000 && !atomic_load(writer->stop); op++) {
        size_t k;
        bool reput = writer->n_ids > 0 &&
                     (int)(rand_r(&writer->seed) % 10) < S_REPUT_IN_10;
        if (reput) {
            k = (size_t)rand_r(&writer->seed) % writer->n_ids;
        } else if (writer->n_ids < S_MAX_IDS) {
            k = writer->n_ids++;
        } else {
            break;
        }
        if (!s_put_one(writer, client, k)) {
            break;
        }
    }
    dossier_client_destroy(&client);
    return NULL;
}

static unsigned
s_seed(void) {
    const char *text = getenv("DOSSIER_TEST_SEED");
    unsigned seed = text && *text ? (unsigned)strtoul(text, NULL, 10)
                                  : (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("# seed %u (set DOSSIER_TEST_SEED=%u to repeat)\n", seed, seed);
    return seed;
}

/*  Opens the (stopped) server's store and asserts store_check finds no
    problem. */
static void
s_check_store(const char *datadir, const char *when) {
    store_t *store = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc = store_open(datadir, NULL, &store, &err);
    if (rc != DOSSIER_OK) {
        fail_msg("store_open %s %s: %s: %s", datadir, when,
                 dossier_strerror(rc), err.message);
    }
    uint64_t problems = 99;
    rc = store_check(store, &problems, &err);
    store_destroy(&store);
    if (rc != DOSSIER_OK || problems != 0) {
        fail_msg("store_check %s: %s, %" PRIu64 " problems: %s", when,
                 dossier_strerror(rc), problems, err.message);
    }
}

/*  Fetches every id the writers touched and checks it lies within what
    they know. Returns the number of records checked. */
static size_t
s_verify(const char *endpoint, s_writer_t *writers) {
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_int_equal(dossier_client_new(endpoint, NULL, &client, &err),
                     DOSSIER_OK);
    size_t checked = 0;
    size_t exact = 0;
    for (int t = 0; t < S_WRITERS; t++) {
        s_writer_t *writer = &writers[t];
        for (size_t k = 0; k < writer->n_ids; k++) {
            const s_id_state_t *state = &writer->ids[k];
            char id[64];
            s_id_name(writer, k, id, sizeof id);
            Dossier__V1__Report *report = NULL;
            dossier_status_t rc = dossier_get(client, id, &report, &err);
            uint64_t version = 0;
            if (rc == DOSSIER_OK) {
                version = report->version;
            } else if (rc != DOSSIER_NOT_FOUND) {
                dossier_client_destroy(&client);
                fail_msg("get %s: %s: %s", id, dossier_strerror(rc),
                         err.message);
            }
            if (version < state->low || version > state->high) {
                dossier_report_free(report);
                dossier_client_destroy(&client);
                fail_msg("%s: stored version %" PRIu64 " (0: missing), "
                         "acknowledged %" PRIu64 ", at most %" PRIu64
                         " possible",
                         id, version, state->low, state->high);
            }
            if (state->low > 0 && state->low == state->high) {
                /* No later write could have landed: it is exactly the
                   acknowledged one. */
                char title[128];
                s_title(writer, k, state->acked_attempt, title, sizeof title);
                if (strcmp(report->title, title) != 0) {
                    char got[128];
                    snprintf(got, sizeof got, "%s", report->title);
                    dossier_report_free(report);
                    dossier_client_destroy(&client);
                    fail_msg("%s: version %" PRIu64 " holds \"%s\", "
                             "acknowledged \"%s\"",
                             id, version, got, title);
                }
                exact++;
            }
            dossier_report_free(report);
            checked++;
        }
    }
    dossier_client_destroy(&client);
    printf("# verified %zu ids, %zu of them exactly\n", checked, exact);
    return checked;
}

static void
test_kill9_rounds_keep_acknowledged_writes(void **state) {
    (void)state;
    unsigned seed = s_seed();
    testserver_t *server = testserver_start(NULL);
    assert_non_null(server);
    /* Static: a failed assertion jumps out of this function. */
    static s_writer_t writers[S_WRITERS];
    memset(writers, 0, sizeof writers);
    for (int t = 0; t < S_WRITERS; t++) {
        writers[t].index = t;
        writers[t].seed = seed * 31u + (unsigned)t;
    }
    unsigned long acked_total = 0;
    unsigned long failed_total = 0;
    for (int round = 0; round < S_ROUNDS; round++) {
        atomic_bool stop;
        atomic_init(&stop, false);
        atomic_ulong acked_any;
        atomic_init(&acked_any, 0);
        pthread_t threads[S_WRITERS];
        for (int t = 0; t < S_WRITERS; t++) {
            writers[t].endpoint = testserver_endpoint(server);
            writers[t].stop = &stop;
            writers[t].acked_any = &acked_any;
            writers[t].acked_round = writers[t].failed_round = 0;
            assert_int_equal(
                pthread_create(&threads[t], NULL, s_writer_main, &writers[t]),
                0);
        }
        /* The load has begun once a put is acknowledged (a slow machine or
           valgrind may take a while to get there); then the kill comes
           at a random moment. */
        struct timespec tick = {0, 10 * 1000000L};
        for (int i = 0; i < 1000 && atomic_load(&acked_any) == 0; i++) {
            nanosleep(&tick, NULL);
        }
        unsigned delay_ms = 100 + (unsigned)(rand_r(&seed) % 301);
        struct timespec pause = {0, (long)delay_ms * 1000000L};
        nanosleep(&pause, NULL);
        assert_int_equal(testserver_kill(server, SIGKILL), 0);
        assert_int_equal(testserver_wait(server, 5000), 128 + SIGKILL);
        atomic_store(&stop, true);
        unsigned long acked = 0;
        unsigned long failed = 0;
        for (int t = 0; t < S_WRITERS; t++) {
            pthread_join(threads[t], NULL);
            acked += writers[t].acked_round;
            failed += writers[t].failed_round;
        }
        for (int t = 0; t < S_WRITERS; t++) {
            if (writers[t].failure[0]) {
                fail_msg("writer %d: %s", t, writers[t].failure);
            }
        }
        printf("# round %d: killed after %u ms, %lu puts acknowledged, "
               "%lu of unknown outcome\n",
               round, delay_ms, acked, failed);
        acked_total += acked;
        failed_total += failed;
        s_check_store(testserver_datadir(server), "after kill -9");
        assert_int_equal(testserver_restart(server), 0);
    }
    assert_true(acked_total > 0);
    printf("# %d rounds: %lu acknowledged, %lu unknown\n", S_ROUNDS,
           acked_total, failed_total);
    size_t checked = s_verify(testserver_endpoint(server), writers);
    assert_true(checked > 0);

    assert_int_equal(testserver_kill(server, SIGTERM), 0);
    assert_int_equal(testserver_wait(server, 10000), 0);
    s_check_store(testserver_datadir(server), "after the last clean stop");
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_rounds_keep_acknowledged_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
