/*  cli_auth.c: CURVE keys for the `dossier` CLI: the keygen and whoami
    verbs, and where a connection finds its server, server key and key.

    Each setting comes from the first place that has it: the flag
    (--server, --server-key, --key), the environment (DOSSIER_SERVER,
    DOSSIER_SERVER_KEY, DOSSIER_KEY), the client section of the config
    file ($XDG_CONFIG_HOME/dossier/config, else ~/.config/dossier/config):

        client
            server = tcp://dossier.example.org:7531
            server_key = /home/alice/.config/dossier/server.key
            key = /home/alice/.config/dossier/alice.key_secret

    A server key is a certificate file (its public key is used) or the 40
    Z85 characters themselves; the key is the user's secret certificate
    (NAME.key_secret, as `dossier keygen` writes it). Without a key and
    a server key the CLI talks plain ZeroMQ, as a loopback server wants. */
#include "cli.h"
#include "fsops.h"

#include <czmq.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *
s_first(const char *flag, const char *env_name, zconfig_t *file,
        const char *file_key) {
    if (flag && *flag) {
        return flag;
    }
    const char *env = getenv(env_name);
    if (env && *env) {
        return env;
    }
    if (file) {
        char path[64];
        snprintf(path, sizeof path, "client/%s", file_key);
        const char *value = zconfig_get(file, path, NULL);
        if (value && *value) {
            return value;
        }
    }
    return NULL;
}

/*  The config file, or NULL when there is none. Prints and sets *bad
    when it exists but cannot be read. */
static zconfig_t *
s_load_config_file(bool *bad) {
    char path[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) {
        snprintf(path, sizeof path, "%s/dossier/config", xdg);
    } else if (home && *home) {
        snprintf(path, sizeof path, "%s/.config/dossier/config", home);
    } else {
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return NULL;
    }
    zconfig_t *root = zconfig_load(path);
    if (!root) {
        fprintf(stderr,
                "dossier: cannot read %s: not a zconfig file (a 'client' "
                "section of 'key = value' lines indented by 4 spaces)\n",
                path);
        *bad = true;
    }
    return root;
}

static bool
s_is_z85_key(const char *text) {
    uint8_t key[32];
    return strlen(text) == 40 && zmq_z85_decode(key, text) != NULL;
}

int
cli_auth_options(const cli_global_t *g, cli_keys_t *keys,
                 dossier_options_t *options, const char **server) {
    bool bad = false;
    zconfig_t *file = s_load_config_file(&bad);
    if (bad) {
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    *server = s_first(g->server, "DOSSIER_SERVER", file, "server");
    if (*server) {
        if (strlen(*server) >= sizeof keys->server) {
            fprintf(stderr,
                    "dossier: the server list is longer than %zu "
                    "characters\n",
                    sizeof keys->server - 1);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        snprintf(keys->server, sizeof keys->server, "%s", *server);
        *server = keys->server;
    }
    const char *server_key =
        s_first(g->server_key, "DOSSIER_SERVER_KEY", file, "server_key");
    const char *key = s_first(g->key, "DOSSIER_KEY", file, "key");
    if (!server_key && !key) {
        goto done;
    }
    if (!server_key || !key) {
        fprintf(stderr, "dossier: CURVE needs both the server's public key "
                        "(--server-key) and your secret certificate (--key)\n");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    dossier_error_t err = {0};
    if (s_is_z85_key(server_key)) {
        snprintf(keys->server_key, sizeof keys->server_key, "%s", server_key);
    } else if (dossier_certificate_read(server_key, keys->server_key, NULL,
                                        &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier: the server key: %s\n", err.message);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (dossier_certificate_read(key, keys->public_key, keys->secret_key,
                                 &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier: --key: %s\n", err.message);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    options->curve_server_key = keys->server_key;
    options->curve_public_key = keys->public_key;
    options->curve_secret_key = keys->secret_key;
done:
    zconfig_destroy(&file);
    return rc;
}

/* ---- keygen ------------------------------------------------------- */

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

enum { S_KEYGEN_ROLE = 1, S_KEYGEN_DIR, S_KEYGEN_FORCE };

static const cli_option_t s_keygen_options[] = {
    {.name = "role",
     .key = S_KEYGEN_ROLE,
     .kind = CLI_TEXT,
     .help = "  --role ROLE  reader (default), writer or admin\n"},
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
    const char *role;
    const char *dir;
    bool force;
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
    } else {
        s->force = true;
    }
    return CLI_GO_ON;
}

static int
s_keygen(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_keygen_t s = {.role = "reader", .dir = "."};
    int rc = cli_parse(verb, verb->options, s_keygen_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, args.argc == 0 ? "give the user's NAME"
                                                    : "give one NAME only");
    }
    const char *name = args.argv[0];
    const char *role = s.role;
    const char *dir = s.dir;
    bool force = s.force;
    if (!s_name_ok(name)) {
        return cli_usage_error(verb,
                               "NAME must be 1 to 63 characters, without "
                               "blanks, '/' or a leading '.'; not '%s'",
                               name);
    }
    if (strcmp(role, "reader") != 0 && strcmp(role, "writer") != 0 &&
        strcmp(role, "admin") != 0) {
        return cli_usage_error(
            verb, "--role must be reader, writer or admin, not '%s'", role);
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
        (stat(public_path, &st) == 0 || stat(secret_path, &st) == 0)) {
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
    zcert_set_meta(cert, "role", "%s", role);
    /* The secret file is born private: no moment when others may read it. */
    mode_t old_mask = umask(077);
    rc = zcert_save_secret(cert, secret_path);
    umask(old_mask);
    if (rc != 0 || chmod(secret_path, 0600) != 0) {
        fprintf(stderr, "dossier keygen: cannot write %s: %s\n", secret_path,
                strerror(errno));
        zcert_destroy(&cert);
        return CLI_EXIT_REFUSED;
    }
    if (zcert_save_public(cert, public_path) != 0) {
        fprintf(stderr, "dossier keygen: cannot write %s: %s\n", public_path,
                strerror(errno));
        zcert_destroy(&cert);
        return CLI_EXIT_REFUSED;
    }
    printf("public key %s\n"
           "wrote %s (public: copy it into the server's users directory)\n"
           "wrote %s (secret, mode 0600: keep it to yourself)\n",
           zcert_public_txt(cert), public_path, secret_path);
    zcert_destroy(&cert);
    return CLI_EXIT_OK;
}

const cli_verb_t cli_verb_keygen = {
    .name = "keygen",
    .summary = "make a CURVE key pair for a user",
    .usage = "usage: dossier keygen [--role reader|writer|admin] [--dir DIR] "
             "[--force] NAME\n"
             "\n"
             "Makes a CURVE key pair for user NAME in czmq's certificate "
             "format:\n"
             "DIR/NAME.key, the public certificate with metadata name and "
             "role, to\n"
             "copy into the server's users directory, and DIR/NAME.key_secret "
             "(mode\n"
             "0600), which the user keeps and gives with --key. The server's "
             "own\n"
             "key pair is made the same way (`dossier keygen server`).\n",
    .options = s_keygen_options,
    .run = s_keygen,
};

/* ---- whoami ------------------------------------------------------- */

static const cli_method_t s_whoami_method = {
    "WhoAmI", &dossier__v1__who_am_iresponse__descriptor, 0};

static int
s_whoami_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__WhoAmIResponse *who =
        (const Dossier__V1__WhoAmIResponse *)response;
    printf("name       %s\n"
           "role       %s\n"
           "public key %s\n"
           "security   %s\n",
           who->name, who->role,
           who->public_key[0] ? who->public_key : "(none)", who->security);
    return CLI_EXIT_OK;
}

static int
s_whoami(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "unexpected argument '%s'", args.argv[0]);
    }
    Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    return cli_call(g, &s_whoami_method, &request.base, s_whoami_show, NULL);
}

const cli_verb_t cli_verb_whoami = {
    .name = "whoami",
    .summary = "your name and role on the server",
    .usage = "usage: dossier whoami [--json]\n"
             "\n"
             "Prints who the server takes you for: name, role, public key and "
             "its\n"
             "security mode.\n",
    .run = s_whoami,
};
