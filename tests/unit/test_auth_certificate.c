/*  test_auth_certificate.c: dossier_certificate_read against certificate
    files written by czmq (as `dossier keygen` writes them) and against
    files that are not certificates. */
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dossier.h"

static char s_dir[64];

static int
s_setup(void **state) {
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/dossier-cert-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int
s_teardown(void **state) {
    (void)state;
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", s_dir);
    return system(command) == 0 ? 0 : -1;
}

static void
s_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_reads_czmq_certificates(void **state) {
    (void)state;
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "name", "alice");
    zcert_set_meta(cert, "role", "writer");
    char path[128];
    snprintf(path, sizeof path, "%s/alice.key", s_dir);
    assert_int_equal(zcert_save(cert, path), 0);

    char public_key[41], secret_key[41];
    dossier_error_t err = {0};
    char secret_path[160];
    snprintf(secret_path, sizeof secret_path, "%s_secret", path);
    assert_int_equal(
        dossier_certificate_read(secret_path, public_key, secret_key, &err),
        DOSSIER_OK);
    assert_string_equal(public_key, zcert_public_txt(cert));
    assert_string_equal(secret_key, zcert_secret_txt(cert));

    /* The public file: the public key, and no secret to give. */
    memset(public_key, 'x', sizeof public_key);
    assert_int_equal(dossier_certificate_read(path, public_key, NULL, &err),
                     DOSSIER_OK);
    assert_string_equal(public_key, zcert_public_txt(cert));
    memset(secret_key, 'x', sizeof secret_key);
    assert_int_equal(
        dossier_certificate_read(path, public_key, secret_key, &err),
        DOSSIER_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "has no secret key"));
    assert_int_equal(secret_key[0], 'x'); /* untouched on failure */
    zcert_destroy(&cert);
}

static void
test_rejects_what_is_not_a_certificate(void **state) {
    (void)state;
    char path[128], public_key[41];
    dossier_error_t err = {0};
    snprintf(path, sizeof path, "%s/missing.key", s_dir);
    assert_int_equal(dossier_certificate_read(path, public_key, NULL, &err),
                     DOSSIER_NOT_FOUND);

    static const char *const bad[] = {
        "",
        "\xff\xfe\x00garbage\n",
        /* A key outside the curve section does not count. */
        "metadata\n    public-key = "
        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n",
        /* Too short, too long, not Z85. */
        "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"\n",
        "curve\n    public-key = "
        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf77\"\n",
        "curve\n    public-key = "
        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y\\\"7\"\n",
        "curve\n    public-key\n",
        "curve\n    public-key = \n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.key", s_dir, i);
        s_write(path, bad[i]);
        memset(public_key, 'x', sizeof public_key);
        dossier_status_t rc =
            dossier_certificate_read(path, public_key, NULL, &err);
        if (rc != DOSSIER_INVALID_ARGUMENT) {
            fail_msg("case %zu: got %s, want INVALID_ARGUMENT", i,
                     dossier_strerror(rc));
        }
        assert_int_equal(public_key[0], 'x');
    }
    /* A very long line, and a directory. */
    snprintf(path, sizeof path, "%s/long.key", s_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("curve\n    ", f);
    for (int i = 0; i < 200000; i++) {
        fputc('a', f);
    }
    fclose(f);
    assert_int_equal(dossier_certificate_read(path, public_key, NULL, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(dossier_certificate_read(s_dir, public_key, NULL, &err),
                     DOSSIER_INVALID_ARGUMENT);
    assert_int_equal(dossier_certificate_read(NULL, public_key, NULL, &err),
                     DOSSIER_INVALID_ARGUMENT);
}

static void
test_unquoted_values(void **state) {
    (void)state;
    char path[128], public_key[41], secret_key[41];
    dossier_error_t err = {0};
    snprintf(path, sizeof path, "%s/plain.key_secret", s_dir);
    s_write(path,
            "# a comment\n"
            "curve\n"
            "    public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n"
            "    secret-key='JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6'\n");
    assert_int_equal(
        dossier_certificate_read(path, public_key, secret_key, &err),
        DOSSIER_OK);
    assert_string_equal(public_key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    assert_string_equal(secret_key, "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6");
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_czmq_certificates),
        cmocka_unit_test(test_rejects_what_is_not_a_certificate),
        cmocka_unit_test(test_unquoted_values),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
