/*  cli_watch.c: `dossier watch`: a subscriber to the server's change
    feed (a ZeroMQ PUB socket, CURVE when keys are given) that prints
    each committed change until interrupted or --count changes. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define S_FEED_TOPIC "dossier.v1.change"

static volatile sig_atomic_t s_interrupted;

static void
s_on_signal(int signal) {
    (void)signal;
    s_interrupted = 1;
}

typedef struct {
    const char *feed;
    unsigned long long count;
} s_watch_state_t;

enum { S_WATCH_FEED = 1, S_WATCH_COUNT };

static const cli_option_t s_watch_options[] = {
    {.name = "feed",
     .key = S_WATCH_FEED,
     .kind = CLI_TEXT,
     .help = "  --feed ENDPOINT  e.g. tcp://10.0.0.5:7532\n"},
    {.name = "count",
     .key = S_WATCH_COUNT,
     .kind = CLI_COUNT,
     .min = 1,
     .max = UINT64_MAX,
     .wants = "a number >= 1",
     .help = "  --count N        exit 0 after N changes\n"},
    {.name = NULL},
};

static int
s_watch_take(const cli_verb_t *verb, void *state, int key,
             const cli_value_t *value) {
    (void)verb;
    s_watch_state_t *s = state;
    if (key == S_WATCH_FEED) {
        s->feed = value->text;
    } else {
        s->count = value->count;
    }
    return CLI_GO_ON;
}

static const char *
s_operation(Dossier__V1__ChangeOperation op) {
    switch (op) {
    case DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_PUT:
        return "PUT";
    case DOSSIER__V1__CHANGE_OPERATION__CHANGE_OPERATION_DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

/* Makes the SUB socket a CURVE client with the keys cli_auth_options
   found (if any). Returns 0 or -1. */
static int
s_watch_curve(void *socket, const dossier_options_t *options) {
    if (options->curve_server_key == NULL) {
        return 0;
    }
    return zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY,
                          options->curve_server_key, 41) == 0 &&
                   zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY,
                                  options->curve_public_key, 41) == 0 &&
                   zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY,
                                  options->curve_secret_key, 41) == 0
               ? 0
               : -1;
}

/* Has a PAIR socket in context (*monitor_p, the caller closes it)
   receive socket's handshake events. Returns 0 or -1. */
static int
s_monitor_start(void *context, void *socket, void **monitor_p) {
    static const char name[] = "inproc://dossier-watch-monitor";
    if (zmq_socket_monitor(socket, name,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        return -1;
    }
    *monitor_p = zmq_socket(context, ZMQ_PAIR);
    int linger = 0;
    if (*monitor_p == NULL ||
        zmq_setsockopt(*monitor_p, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(*monitor_p, name) != 0) {
        return -1;
    }
    return 0;
}

/* The next event on monitor (0: a message that is none), waiting at most
   wait_ms; -1 when none came. */
static int
s_monitor_event(void *monitor, int wait_ms) {
    zmq_pollitem_t item = {monitor, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, wait_ms) <= 0) {
        return -1;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int event = 0;
    if (zmq_msg_recv(&msg, monitor, 0) >= 0 && zmq_msg_size(&msg) >= 2) {
        uint16_t e;
        memcpy(&e, zmq_msg_data(&msg), sizeof e);
        event = e;
    }
    while (zmq_msg_more(&msg)) { /* the endpoint frame */
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, monitor, 0) < 0) {
            break;
        }
    }
    zmq_msg_close(&msg);
    return event;
}

/*  Waits, at most timeout_ms, until the subscription's handshake with
    the feed succeeds: a SUB socket whose key the server refuses, or that
    finds nothing at the endpoint, would otherwise wait forever without a
    word. Returns CLI_EXIT_OK, or prints why and returns the exit code. */
static int
s_handshake(void *monitor, const char *feed, int timeout_ms, bool curve) {
    int64_t waited = 0;
    while (!s_interrupted && waited < timeout_ms) {
        int step = timeout_ms - waited < 100 ? (int)(timeout_ms - waited) : 100;
        int event = s_monitor_event(monitor, step);
        if (event < 0) {
            waited += step;
            continue;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            return CLI_EXIT_OK;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            fprintf(stderr,
                    "dossier: the feed at %s refused your key\n"
                    "hint: check --server-key, and that your certificate is "
                    "in the server's users\ndirectory; if it was just added, "
                    "an admin must run `dossier users reload`\n",
                    feed);
            return CLI_EXIT_REFUSED;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            fprintf(stderr,
                    "dossier: the handshake with the feed at %s failed\n"
                    "hint: %s\n",
                    feed,
                    curve ? "the feed may not use CURVE, or --server-key is "
                            "not this server's key"
                          : "the feed uses CURVE: give --server-key and "
                            "--key");
            return CLI_EXIT_REFUSED;
        }
    }
    if (s_interrupted) {
        return CLI_EXIT_OK;
    }
    fprintf(stderr,
            "dossier: no answer from the feed at %s within %d ms\n"
            "hint: %s\n",
            feed, timeout_ms,
            curve ? "is dossierd running with this --feed? A CURVE feed also "
                    "stays silent to a key it\ndoes not know: if yours was "
                    "just added, an admin must run `dossier users reload`"
                  : "is dossierd running with this --feed? A CURVE feed "
                    "answers no one without keys\n(--server-key, --key)");
    return CLI_EXIT_UNREACHABLE;
}

static int
s_watch(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    s_watch_state_t s = {0};
    int rc = cli_parse(verb, verb->options, s_watch_take, &s, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 0) {
        return cli_usage_error(verb, "takes no arguments besides options");
    }
    if (s.feed == NULL || *s.feed == '\0') {
        s.feed = getenv("DOSSIER_FEED");
    }
    if (s.feed == NULL || *s.feed == '\0') {
        return cli_usage_error(verb, "give the server's feed endpoint with "
                                     "--feed or $DOSSIER_FEED");
    }
    static cli_keys_t keys;
    dossier_options_t options;
    dossier_options_init(&options);
    const char *server = NULL;
    rc = cli_auth_options(g, &keys, &options, &server);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    void *context = zmq_ctx_new();
    void *monitor = NULL;
    void *socket = context ? zmq_socket(context, ZMQ_SUB) : NULL;
    int linger = 0;
    if (socket == NULL ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        s_watch_curve(socket, &options) != 0 ||
        zmq_setsockopt(socket, ZMQ_SUBSCRIBE, S_FEED_TOPIC,
                       strlen(S_FEED_TOPIC)) != 0 ||
        s_monitor_start(context, socket, &monitor) != 0 ||
        zmq_connect(socket, s.feed) != 0) {
        fprintf(stderr, "dossier: cannot subscribe to %s: %s\n", s.feed,
                zmq_strerror(errno));
        explicit_bzero(keys.secret_key, sizeof keys.secret_key);
        if (monitor) {
            zmq_close(monitor);
        }
        if (socket) {
            zmq_close(socket);
        }
        if (context) {
            zmq_ctx_term(context);
        }
        return CLI_EXIT_USAGE;
    }
    explicit_bzero(keys.secret_key, sizeof keys.secret_key);
    struct sigaction action = {0};
    action.sa_handler = s_on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    int timeout_ms =
        g->timeout_ms > 0 ? g->timeout_ms : DOSSIER_DEFAULT_TIMEOUT_MS;
    rc = s_handshake(monitor, s.feed, timeout_ms,
                     options.curve_server_key != NULL);
    zmq_socket_monitor(socket, NULL, 0);
    zmq_close(monitor);
    unsigned long long seen = 0;
    while (rc == CLI_EXIT_OK && !s_interrupted &&
           (s.count == 0 || seen < s.count)) {
        zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "dossier: watch: %s\n", zmq_strerror(errno));
            rc = CLI_EXIT_UNREACHABLE;
            break;
        }
        if (n == 0) {
            continue;
        }
        zmq_msg_t frames[2];
        zmq_msg_init(&frames[0]);
        zmq_msg_init(&frames[1]);
        int more = 0;
        bool ok = zmq_msg_recv(&frames[0], socket, 0) >= 0 &&
                  zmq_msg_more(&frames[0]) &&
                  zmq_msg_recv(&frames[1], socket, 0) >= 0;
        more = ok && zmq_msg_more(&frames[1]);
        while (more) { /* a newer server's extra frames: skip them */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = zmq_msg_recv(&extra, socket, 0) >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        Dossier__V1__ChangeEvent *event =
            ok ? dossier__v1__change_event__unpack(
                     NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]))
               : NULL;
        zmq_msg_close(&frames[0]);
        zmq_msg_close(&frames[1]);
        if (event == NULL) {
            fprintf(stderr, "dossier: watch: skipped a message that is not a "
                            "ChangeEvent\n");
            continue;
        }
        if (g->json) {
            cli_print_json(&event->base);
        } else {
            printf("%llu %s %s %s %s v%llu %s %u\n",
                   (unsigned long long)event->seq, event->time, event->user,
                   s_operation(event->operation), event->id,
                   (unsigned long long)event->version,
                   *event->country_code ? event->country_code : "-",
                   event->year);
        }
        fflush(stdout);
        dossier__v1__change_event__free_unpacked(event, NULL);
        seen++;
    }
    zmq_close(socket);
    zmq_ctx_term(context);
    return rc;
}

const cli_verb_t cli_verb_watch = {
    .name = "watch",
    .summary = "print committed changes from the feed",
    .usage = "usage: dossier watch [--feed ENDPOINT] [--count N] [--json]\n"
             "\n"
             "Prints each committed change (SEQ, TIME, USER, OPERATION, ID, "
             "VERSION,\n"
             "COUNTRY, YEAR) as the server publishes it on its change feed, "
             "until\n"
             "interrupted (or after N changes). The feed is the server's "
             "--feed\n"
             "endpoint: --feed, else $DOSSIER_FEED. With CURVE keys "
             "(--server-key,\n"
             "--key) the subscription is encrypted and the server admits only "
             "its\n"
             "users. A subscriber too slow for the server misses changes (the "
             "SEQ\n"
             "numbers show the gap). Waits at most --timeout ms (default "
             "5000) for the\n"
             "feed to accept the subscription.\n",
    .options = s_watch_options,
    .run = s_watch,
};
