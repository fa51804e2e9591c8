/*  cli_auth.c: where a connection of the `dossier` CLI finds its
    server, the server's public key and the user's key (CURVE).

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

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "confcheck.h"
#include "suggest.h"

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

/* The settings of the client section, as s_first reads them. */
static const char *const s_client_keys[] = {"server", "server_key", "key"};
#define S_N_CLIENT_KEYS (sizeof s_client_keys / sizeof s_client_keys[0])

/*  Refuses a setting of the client section the CLI does not know, as
    dossierd refuses one of its server section: a mistyped key would
    otherwise be ignored without a word. Returns 0, or -1 after printing
    which key and the nearest known one. */
static int
s_check_keys(const char *path, zconfig_t *root) {
    zconfig_t *client = zconfig_locate(root, "client");
    for (zconfig_t *item = client ? zconfig_child(client) : NULL; item;
         item = zconfig_next(item)) {
        const char *key = zconfig_name(item) ? zconfig_name(item) : "";
        suggest_t near;
        suggest_init(&near, key);
        bool known = false;
        for (size_t i = 0; i < S_N_CLIENT_KEYS; i++) {
            known |= strcmp(key, s_client_keys[i]) == 0;
            suggest_consider(&near, s_client_keys[i]);
        }
        if (known) {
            continue;
        }
        const char *best = suggest_best(&near);
        fprintf(stderr, "dossier: %s: unknown setting client/", path);
        cli_print_escaped(stderr, key);
        if (best != NULL) {
            fprintf(stderr, "; did you mean %s?\n", best);
        } else {
            fprintf(stderr, " (the client section knows server, server_key "
                            "and key)\n");
        }
        return -1;
    }
    return 0;
}

/*  The config file, or NULL when there is none. Prints and sets *bad
    when it exists but cannot be read, is badly indented, or holds a
    client setting the CLI does not know. */
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
    const char *unread = NULL;
    char *text = confcheck_read(path, &unread);
    if (text == NULL) {
        fprintf(stderr, "dossier: cannot read %s: %s\n", path, unread);
        *bad = true;
        return NULL;
    }
    char why[160];
    size_t bad_line = confcheck_indent(text, strlen(text), why, sizeof why);
    if (bad_line != 0) {
        fprintf(stderr, "dossier: %s: line %zu: %s\n", path, bad_line, why);
        free(text);
        *bad = true;
        return NULL;
    }
    /* czmq prints what it cannot parse; the message below says it. */
    confcheck_mute_t muted;
    confcheck_mute(&muted);
    zconfig_t *root = zconfig_str_load(text);
    confcheck_unmute(&muted);
    free(text);
    if (!root) {
        fprintf(stderr,
                "dossier: cannot read %s: not a zconfig file (a 'client' "
                "section of 'key = value' lines indented by 4 spaces)\n",
                path);
        *bad = true;
        return NULL;
    }
    if (s_check_keys(path, root) != 0) {
        zconfig_destroy(&root);
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
