/*  main.c: dossier-gateway, the HTTP (Connect protocol) front of dossierd.

    Reads the settings (gateway_config.c), starts the HTTP server (server.c),
    says where it listens in one line on stderr, and serves until SIGINT
    or SIGTERM. Exit 0 after a signal, 2 for bad settings, 1 when it
    cannot start. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gateway_config.h"
#include "server.h"

int
main(int argc, char **argv) {
    gateway_config_t config;
    dossier_error_t err = {0};
    if (gateway_config_from_args(&config, argc, argv, &err) != DOSSIER_OK) {
        fprintf(stderr, "dossier-gateway: %s\n", err.message);
        gateway_config_free(&config);
        return 2;
    }
    if (config.help) {
        fputs(gateway_config_usage(), stdout);
        gateway_config_free(&config);
        return 0;
    }
    /* The signals are taken by sigwait below; every thread started from
       here on (libmicrohttpd's, ZeroMQ's) inherits the mask. A peer that
       closes its socket must not kill the process either. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    gateway_t *gateway = NULL;
    dossier_status_t rc = gateway_new(&config, &gateway, &err);
    if (rc != DOSSIER_OK) {
        fprintf(stderr, "dossier-gateway: %s\n", err.message);
        gateway_config_free(&config);
        return rc == DOSSIER_INVALID_ARGUMENT ? 2 : 1;
    }
    char host[256];
    unsigned port;
    gateway_config_split_listen(config.listen, host, sizeof host, &port);
    bool v6 = strchr(host, ':') != NULL;
    fprintf(stderr,
            "dossier-gateway: listening on %s://%s%s%s:%u (dossierd at %s%s, "
            "body limit %zu bytes)\n",
            config.tls_cert ? "https" : "http", v6 ? "[" : "", host,
            v6 ? "]" : "", gateway_port(gateway), config.server,
            config.server_key ? ", CURVE" : "", gateway_body_limit(gateway));
    if (gateway_web_note(gateway)[0] != '\0') {
        fprintf(stderr, "dossier-gateway: %s\n", gateway_web_note(gateway));
    }
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    fprintf(stderr, "dossier-gateway: %s, stopping\n",
            signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    gateway_destroy(&gateway);
    gateway_config_free(&config);
    return 0;
}
