/*  cli_keygen.c: `dossier keygen NAME`: a CURVE key pair in czmq's
    certificate format, the public one (with metadata name and role) for
    the server's users directory, the secret one (mode 0600 from birth)
    for the user's --key.

    Both files are written in a directory of keygen's own, made new
    (mkdtemp, mode 0700) inside --dir, so nothing there can be a link
    someone else placed; then each is put in place by name: link(2)
    without --force, which refuses any existing entry (a dangling symlink
    included), rename(2) with it, which replaces the entry itself and
    never follows a link to write through it. A secret is never readable
    by others, not even for a moment. */
#include "cli.h"
#include "fsops.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  Puts the file at from in place at to: link(2), which fails on any
    existing entry, or with replace rename(2), which swaps the entry
    itself. Returns 0 or -1 with errno set. */
static int
s_place(const char *from, const char *to, bool replace) {
    if (replace) {
        return rename(from, to);
    }
    return link(from, to);
}

static bool
s_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 63 || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || c == '/') {
            return false;
        }
    }
    return true;
}

enum { S_KEYGEN_ROLE = 1, S_KEYGEN_DIR, S_KEYGEN_FORCE, S_KEYGEN_FOR_SERVER };

static const cli_option_t s_keygen_options[] = {
    {.name = "role",
     .key = S_KEYGEN_ROLE,
     .kind = CLI_TEXT,
     .help = "  --role ROLE  reader (default), writer, admin, or gateway (for\n"
             "               dossier-gateway's own key: it acts only for the\n"
             "               API tokens its callers send)\n"},
    {.name = "for-server",
     .key = S_KEYGEN_FOR_SERVER,
     .kind = CLI_FLAG,
     .help = "  --for-server the server's own key pair: no role (the default "
             "for the\n"
             "               NAME server)\n"},
    {.name = "dir",
     .key = S_KEYGEN_DIR,
     .kind = CLI_TEXT,
     .help = "  --dir DIR    where to write (default .)\n"},
    {.name = "force",
     .key = S_KEYGEN_FORCE,
     .kind = CLI_FLAG,
     .help = "  --force      replace existing files\n"},
    {.name = NULL},
};

typedef struct {
    const char *role; /* NULL: none given */
    const char *dir;
    bool force;
    bool for_server;
} s_keygen_t;

static int
s_keygen_take(const cli_verb_t *verb, void *state, int key,
              const cli_value_t *value) {
    (void)verb;
    s_keygen_t *s = state;
    if (key == S_KEYGEN_ROLE) {
        s->role = value->text;
    } else if (key == S_KEYGEN_DIR) {
        s->dir = value->text;
    } else if (key == S_KEYGEN_FOR_SERVER) {
        s->for_server = true;
    } else {
        s->force = true;
    }
    return CLI_GO_ON;
}

static int
s_keygen(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_keygen_t s = {.role = NULL, .dir = "."};
    int rc = cli_parse(verb, verb->options, s_keygen_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, args.argc == 0 ? "give the user's NAME"
                                                    : "give one NAME only");
    }
    const char *name = args.argv[0];
    /* The server's pair holds no role (it is not a user), and its public
       half goes to the clients, not into the users directory. "server"
       names it, as the docs' `dossier keygen server` does, unless a
       role makes it a user of that name. */
    bool for_server =
        s.for_server || (s.role == NULL && !strcmp(name, "server"));
    if (for_server && s.role != NULL) {
        return cli_usage_error(verb, "--for-server makes the server's key "
                                     "pair, which has no --role");
    }
    const char *role = s.role ? s.role : "reader";
    const char *dir = s.dir;
    bool force = s.force;
    if (!s_name_ok(name)) {
        return cli_usage_error(verb,
                               "NAME must be 1 to 63 characters, without "
                               "blanks, '/' or a leading '.'; not '%s'",
                               name);
    }
    if (strcmp(role, "reader") != 0 && strcmp(role, "writer") != 0 &&
        strcmp(role, "admin") != 0 && strcmp(role, "gateway") != 0) {
        return cli_usage_error(
            verb, "--role must be reader, writer, admin or gateway, not '%s'",
            role);
    }
    char public_path[4096], secret_path[4096];
    if (snprintf(public_path, sizeof public_path, "%s/%s.key", dir, name) >=
            (int)sizeof public_path ||
        snprintf(secret_path, sizeof secret_path, "%s/%s.key_secret", dir,
                 name) >= (int)sizeof secret_path) {
        return cli_usage_error(verb, "--dir is too long");
    }
    /* Each directory made here is its owner's alone: it holds secrets. */
    dossier_error_t dir_err = {0};
    if (fsops_make_dirs(dir, 0700, &dir_err) != DOSSIER_OK) {
        fprintf(stderr, "dossier keygen: %s\n", dir_err.message);
        return CLI_EXIT_REFUSED;
    }
    struct stat st;
    if (!force &&
        (lstat(public_path, &st) == 0 || lstat(secret_path, &st) == 0)) {
        fprintf(stderr,
                "dossier keygen: %s or its secret already exists; pass "
                "--force to replace them\n",
                public_path);
        return CLI_EXIT_REFUSED;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        fprintf(stderr, "dossier keygen: cannot make a key pair (is libzmq "
                        "built with CURVE?)\n");
        return CLI_EXIT_REFUSED;
    }
    zcert_set_meta(cert, "name", "%s", name);
    if (!for_server) {
        zcert_set_meta(cert, "role", "%s", role);
    }
    char work[4096], work_public[4200], work_secret[4200];
    snprintf(work, sizeof work, "%s/.keygen-XXXXXX", dir);
    if (strlen(dir) + 16 >= sizeof work || !mkdtemp(work)) {
        fprintf(stderr, "dossier keygen: cannot make a directory in %s: %s\n",
                dir, strerror(errno));
        zcert_destroy(&cert);
        return CLI_EXIT_REFUSED;
    }
    snprintf(work_public, sizeof work_public, "%s/public", work);
    snprintf(work_secret, sizeof work_secret, "%s/secret", work);
    /* The secret file is born private: no moment when others may read it. */
    mode_t old_mask = umask(077);
    int save_secret = zcert_save_secret(cert, work_secret);
    int save_public = zcert_save_public(cert, work_public);
    umask(old_mask);
    const char *failed = NULL;
    if (save_secret != 0) {
        failed = secret_path;
    } else if (save_public != 0 || chmod(work_public, 0644) != 0) {
        failed = public_path;
    } else if (s_place(work_secret, secret_path, force) != 0) {
        failed = secret_path;
    } else if (s_place(work_public, public_path, force) != 0) {
        failed = public_path;
        unlink(secret_path); /* not half a pair */
    }
    int saved_errno = errno;
    unlink(work_secret);
    unlink(work_public);
    rmdir(work);
    if (failed) {
        fprintf(stderr, "dossier keygen: cannot write %s: %s\n", failed,
                strerror(saved_errno));
        zcert_destroy(&cert);
        return CLI_EXIT_REFUSED;
    }
    if (for_server) {
        printf("public key %s\n"
               "wrote %s (public: give it to the clients, as "
               "--server-key or\n"
               "    server_key in their config; not for the users "
               "directory)\n"
               "wrote %s (secret, mode 0600: for dossierd --curve-key "
               "only)\n",
               zcert_public_txt(cert), public_path, secret_path);
    } else {
        printf("public key %s\n"
               "wrote %s (public: copy it into the server's users "
               "directory,\n"
               "    then run `dossier users reload` as an admin)\n"
               "wrote %s (secret, mode 0600: keep it to yourself)\n",
               zcert_public_txt(cert), public_path, secret_path);
    }
    zcert_destroy(&cert);
    return CLI_EXIT_OK;
}

const cli_verb_t cli_verb_keygen = {
    .name = "keygen",
    .summary = "make a CURVE key pair for a user",
    .usage = "usage: dossier keygen [--role reader|writer|admin|gateway] "
             "[--dir DIR]\n"
             "                      [--force] NAME\n"
             "\n"
             "Makes a CURVE key pair for user NAME in czmq's certificate "
             "format:\n"
             "DIR/NAME.key, the public certificate with metadata name and "
             "role, to\n"
             "copy into the server's users directory, and DIR/NAME.key_secret "
             "(mode\n"
             "0600), which the user keeps and gives with --key. The server's "
             "own\n"
             "key pair is made the same way (`dossier keygen server`, or "
             "--for-server\n"
             "for another name): without a role; its NAME.key goes to the "
             "clients\n"
             "(--server-key), its NAME.key_secret to dossierd "
             "--curve-key.\n",
    .options = s_keygen_options,
    .run = s_keygen,
};
