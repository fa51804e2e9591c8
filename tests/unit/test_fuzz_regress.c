/*  test_fuzz_regress.c: replays every committed fuzz input in the
    ordinary build, without libFuzzer.

    The harnesses (fuzz/fuzz_*.c) are compiled into this program by
    #include, so the normal build and ctest run exactly the code libFuzzer
    runs, with no CMake change: for each harness NAME, every file in
    tests/regress/NAME/ (inputs that once crashed it, kept once the owning
    module was fixed) and in fuzz/corpus/NAME/ (its seeds) goes through
    fuzz_NAME_one. A broken invariant aborts (see fuzz/fuzz.h), which
    fails this test. The envelope store is reset before each input, so
    every input meets the same fixture-filled store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/fuzz_dynpb.c"
#include "../../fuzz/fuzz_envelope.c"
#include "../../fuzz/fuzz_gateway.c"
#include "../../fuzz/fuzz_json.c"
#include "../../fuzz/fuzz_query.c"
#include "../../fuzz/fuzz_refworld.c"
#include "../../fuzz/fuzz_webfiles.c"

typedef int (*s_entry_fn)(const uint8_t *data, size_t size);

static int
s_compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*  Runs every file of dir (in name order) through entry; returns how many
    ran. A missing directory runs none. */
static size_t
s_replay_dir(const char *dir, s_entry_fn entry, void (*before)(void)) {
    DIR *handle = opendir(dir);
    if (!handle) {
        return 0;
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *item;
    while ((item = readdir(handle)) != NULL && n < 4096) {
        if (item->d_name[0] == '.' || strcmp(item->d_name, "README.md") == 0) {
            continue;
        }
        names[n] = strdup(item->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(handle);
    if (n > 1) {
        qsort(names, n, sizeof names[0], s_compare_names);
    }
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *file = fopen(path, "rb");
        if (!file) {
            fail_msg("cannot open %s", path);
        }
        fseek(file, 0, SEEK_END);
        long size = ftell(file);
        fseek(file, 0, SEEK_SET);
        assert_true(size >= 0);
        /* One extra byte so an empty input still has a valid pointer. */
        uint8_t *data = malloc((size_t)size + 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
        fclose(file);
        if (before) {
            before();
        }
        entry(data, (size_t)size);
        free(data);
        free(names[i]);
    }
    return n;
}

static void
s_replay(const char *name, s_entry_fn entry, void (*before)(void)) {
    char regress[512];
    char corpus[512];
    snprintf(regress, sizeof regress, "%s/tests/regress/%s", DOSSIER_SOURCE_DIR,
             name);
    snprintf(corpus, sizeof corpus, "%s/fuzz/corpus/%s", DOSSIER_SOURCE_DIR,
             name);
    size_t n_regress = s_replay_dir(regress, entry, before);
    size_t n_corpus = s_replay_dir(corpus, entry, before);
    printf("# %s: replayed %zu regression inputs and %zu seeds\n", name,
           n_regress, n_corpus);
    /* The seeds are committed: none found means the paths are wrong. */
    assert_true(n_corpus > 0);
}

static void
test_refworld(void **state) {
    (void)state;
    s_replay("refworld", fuzz_refworld_one, NULL);
}

static void
test_json(void **state) {
    (void)state;
    s_replay("json", fuzz_json_one, NULL);
}

static void
test_query(void **state) {
    (void)state;
    s_replay("query", fuzz_query_one, NULL);
}

static void
test_dynpb(void **state) {
    (void)state;
    s_replay("dynpb", fuzz_dynpb_one, NULL);
}

static void
test_envelope(void **state) {
    (void)state;
    s_replay("envelope", fuzz_envelope_one, fuzz_envelope_reset);
    fuzz_envelope_cleanup();
}

static void
test_gateway(void **state) {
    (void)state;
    s_replay("gateway", fuzz_gateway_one, NULL);
}

static void
test_webfiles(void **state) {
    (void)state;
    s_replay("webfiles", fuzz_webfiles_one, NULL);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refworld), cmocka_unit_test(test_json),
        cmocka_unit_test(test_query),    cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_dynpb),    cmocka_unit_test(test_gateway),
        cmocka_unit_test(test_webfiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
