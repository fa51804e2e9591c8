/*  dossier_bench.c: dossier-bench, a load generator for a live dossierd.

    Each of --concurrency threads owns one client (a libdossier client, or
    with --raw a ZeroMQ DEALER socket speaking the protobuf envelope
    directly) and sends one request at a time for --duration seconds,
    picking each operation by the --mix weights: Get of a random preloaded
    record, List of 100 summaries (a random year), Search of three terms,
    Put replacing a random record. Latencies go into log-linear histograms
    (HdrHistogram-style: 64 sub-buckets per power of two, about 1.6%
    precision), not a list of samples.

    In the same run, before the load, it measures the floor: a ROUTER echo
    server in a child process of its own, and the same number of DEALER clients
    sending --record-size bytes and getting them back, for --floor-seconds.
    Every figure of the load is also printed as a ratio to that floor.

    --records N preloads N records (ids "bench-0000000" ...) through
    ImportBatch with explicit ids, unless --no-preload says they are there.
    --write-corpus DIR writes N Refworld text files (for `dossier import
    DIR`) and exits.

    The last line is "summary: key=value ..." for scripts. Exit 0 when the
    run completed (errors are counted in the summary), 1 when it could
    not run, 2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "corpus.h"
#include "dossier.h"

#define S_MAX_THREADS 256
#define S_SUB_BITS 6 /* 64 sub-buckets per power of two */
#define S_SUB (1u << S_SUB_BITS)
#define S_BUCKETS ((64 - S_SUB_BITS + 1) * S_SUB)
#define S_CALL_TIMEOUT_MS 10000
#define S_PRELOAD_BATCH 200
#define S_QUERIES 256
#define S_PUT_DOCS 8
#define S_MAX_IN_FLIGHT 256

enum { OP_GET, OP_LIST, OP_SEARCH, OP_PUT, OP_COUNT };
static const char *s_op_names[OP_COUNT] = {"get", "list", "search", "put"};
static const char *s_methods[OP_COUNT] = {
    "dossier.v1.Reports/Get", "dossier.v1.Reports/List",
    "dossier.v1.Reports/Search", "dossier.v1.Reports/Put"};

/* ---- Log-linear histogram ---- */

typedef struct {
    uint64_t counts[S_BUCKETS];
    uint64_t n;
    uint64_t max;
    uint64_t errors;
} hist_t;

static size_t
s_bucket(uint64_t v) {
    if (v < 2 * S_SUB) {
        return (size_t)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - S_SUB_BITS;
    return (size_t)(shift + 1) * S_SUB + (size_t)(v >> shift) - S_SUB;
}

/*  The middle of the values that land in bucket i. */
static uint64_t
s_bucket_value(size_t i) {
    if (i < 2 * S_SUB) {
        return i;
    }
    unsigned shift = (unsigned)(i / S_SUB) - 1;
    uint64_t low = (uint64_t)(i % S_SUB + S_SUB) << shift;
    return low + ((1ull << shift) >> 1);
}

static void
s_hist_add(hist_t *h, uint64_t ns) {
    h->counts[s_bucket(ns)]++;
    h->n++;
    if (ns > h->max) {
        h->max = ns;
    }
}

static void
s_hist_merge(hist_t *into, const hist_t *from) {
    for (size_t i = 0; i < S_BUCKETS; i++) {
        into->counts[i] += from->counts[i];
    }
    into->n += from->n;
    into->errors += from->errors;
    if (from->max > into->max) {
        into->max = from->max;
    }
}

/*  Percentile q (0..100) in microseconds. */
static double
s_hist_pct(const hist_t *h, double q) {
    if (h->n == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)((q / 100.0) * (double)h->n + 0.5);
    if (rank < 1) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < S_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = s_bucket_value(i);
            return (double)(v < h->max ? v : h->max) / 1000.0;
        }
    }
    return (double)h->max / 1000.0;
}

/* ---- Options ---- */

typedef struct {
    const char *endpoint;
    int concurrency;
    double duration;
    double floor_seconds;
    unsigned mix[OP_COUNT];
    char mix_text[128];
    size_t record_size;
    uint32_t records;
    bool preload;
    bool raw;
    bool floor;
    int in_flight;
    uint32_t list_scan;
    uint64_t seed;
    long server_pid;
    const char *write_corpus;
    bool write_queries;
    const char *label;
} opts_t;

static opts_t s_opts;
static atomic_bool s_stop;

static uint64_t
s_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
s_parse_mix(const char *text, opts_t *o) {
    unsigned mix[OP_COUNT] = {0};
    char copy[128];
    if (strlen(text) >= sizeof copy) {
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", text);
    unsigned total = 0;
    char *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part;
         part = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(part, '=');
        if (!eq) {
            return -1;
        }
        *eq = '\0';
        char *end;
        unsigned long w = strtoul(eq + 1, &end, 10);
        if (*end || end == eq + 1 || w > 1000) {
            return -1;
        }
        int op = -1;
        for (int k = 0; k < OP_COUNT; k++) {
            if (strcmp(part, s_op_names[k]) == 0) {
                op = k;
            }
        }
        if (op < 0) {
            return -1;
        }
        mix[op] = (unsigned)w;
        total += (unsigned)w;
    }
    if (total == 0) {
        return -1;
    }
    memcpy(o->mix, mix, sizeof mix);
    snprintf(o->mix_text, sizeof o->mix_text, "%s", text);
    return 0;
}

static void
s_usage(FILE *f) {
    fprintf(
        f,
        "usage: dossier-bench [options]\n"
        "  --endpoint EP        server endpoint "
        "(default " DOSSIER_DEFAULT_ENDPOINT ")\n"
        "  --concurrency N      client threads, each its own socket (1)\n"
        "  --duration S         seconds of load (10)\n"
        "  --floor-seconds S    seconds of the echo floor (default: duration)\n"
        "  --mix SPEC           get=90,list=5,search=3,put=2 (default "
        "get=100)\n"
        "  --record-size BYTES  record and echo payload size (4096)\n"
        "  --records N          key space, preloaded first (10000)\n"
        "  --no-preload         the records are there already\n"
        "  --raw                raw DEALER + protobuf envelope, not "
        "libdossier\n"
        "  --in-flight K        K Gets in flight per client thread, "
        "pipelined\n"
        "                       (dossier_call_start/_finish; --mix get=100)\n"
        "  --no-floor           skip the echo floor\n"
        "  --seed N             corpus seed (20260101)\n"
        "  --pid PID            server pid: report its resident size and its\n"
        "                       CPU time per call over the load\n"
        "  --label TEXT         a name for the summary line\n"
        "  --write-corpus DIR   write --records Refworld text files, exit\n"
        "  --list-scan PAGE     List every record, full view, pages of PAGE\n"
        "                       following page tokens, one call at a time\n"
        "                       (what `dossier export` is made of); time it,\n"
        "                       exit\n"
        "  --write-queries      print the Search queries a worker draws,\n"
        "                       one a line, exit (for the HTTP bench)\n");
}

static int
s_parse_args(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof *o);
    o->endpoint = DOSSIER_DEFAULT_ENDPOINT;
    o->concurrency = 1;
    o->duration = 10;
    o->floor_seconds = -1;
    o->record_size = 4096;
    o->records = 10000;
    o->preload = true;
    o->floor = true;
    o->in_flight = 1;
    o->seed = 20260101;
    o->label = "";
    s_parse_mix("get=100", o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            exit(0);
        } else if (strcmp(a, "--raw") == 0) {
            o->raw = true;
        } else if (strcmp(a, "--no-preload") == 0) {
            o->preload = false;
        } else if (strcmp(a, "--no-floor") == 0) {
            o->floor = false;
        } else if (strcmp(a, "--write-queries") == 0) {
            o->write_queries = true;
        } else if (!v) {
            fprintf(stderr, "dossier-bench: %s needs a value\n", a);
            return -1;
        } else if (strcmp(a, "--endpoint") == 0) {
            o->endpoint = v;
            i++;
        } else if (strcmp(a, "--label") == 0) {
            o->label = v;
            i++;
        } else if (strcmp(a, "--write-corpus") == 0) {
            o->write_corpus = v;
            i++;
        } else if (strcmp(a, "--mix") == 0) {
            if (s_parse_mix(v, o) != 0) {
                fprintf(stderr,
                        "dossier-bench: --mix wants op=weight,... with ops "
                        "get, list, search, put, not '%s'\n",
                        v);
                return -1;
            }
            i++;
        } else if (strcmp(a, "--duration") == 0 ||
                   strcmp(a, "--floor-seconds") == 0) {
            double d = strtod(v, &end);
            if (*end || end == v || d <= 0 || d > 86400) {
                fprintf(stderr, "dossier-bench: %s wants seconds, not '%s'\n",
                        a, v);
                return -1;
            }
            if (a[2] == 'd') {
                o->duration = d;
            } else {
                o->floor_seconds = d;
            }
            i++;
        } else if (strcmp(a, "--concurrency") == 0 ||
                   strcmp(a, "--record-size") == 0 ||
                   strcmp(a, "--records") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--pid") == 0 || strcmp(a, "--in-flight") == 0 ||
                   strcmp(a, "--list-scan") == 0) {
            unsigned long long n = strtoull(v, &end, 10);
            if (*end || end == v || *v == '-') {
                fprintf(stderr, "dossier-bench: %s wants a number, not '%s'\n",
                        a, v);
                return -1;
            }
            if (strcmp(a, "--concurrency") == 0) {
                if (n < 1 || n > S_MAX_THREADS) {
                    fprintf(stderr, "dossier-bench: --concurrency 1 to %d\n",
                            S_MAX_THREADS);
                    return -1;
                }
                o->concurrency = (int)n;
            } else if (strcmp(a, "--record-size") == 0) {
                if (n < 256 || n > 4u * 1024 * 1024) {
                    fprintf(stderr,
                            "dossier-bench: --record-size 256 to 4194304\n");
                    return -1;
                }
                o->record_size = (size_t)n;
            } else if (strcmp(a, "--records") == 0) {
                if (n < 1 || n > 10000000) {
                    fprintf(stderr, "dossier-bench: --records 1 to 10000000\n");
                    return -1;
                }
                o->records = (uint32_t)n;
            } else if (strcmp(a, "--seed") == 0) {
                o->seed = n;
            } else if (strcmp(a, "--in-flight") == 0) {
                if (n < 1 || n > S_MAX_IN_FLIGHT) {
                    fprintf(stderr, "dossier-bench: --in-flight 1 to %d\n",
                            S_MAX_IN_FLIGHT);
                    return -1;
                }
                o->in_flight = (int)n;
            } else if (strcmp(a, "--list-scan") == 0) {
                if (n < 1 || n > 100000) {
                    fprintf(stderr, "dossier-bench: --list-scan 1 to 100000\n");
                    return -1;
                }
                o->list_scan = (uint32_t)n;
            } else {
                o->server_pid = (long)n;
            }
            i++;
        } else {
            fprintf(stderr, "dossier-bench: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (o->floor_seconds < 0) {
        o->floor_seconds = o->duration;
    }
    if (o->in_flight > 1 &&
        (o->raw || o->mix[OP_LIST] || o->mix[OP_SEARCH] || o->mix[OP_PUT])) {
        fprintf(stderr, "dossier-bench: --in-flight goes with --mix get=100, "
                        "without --raw\n");
        return -1;
    }
    return 0;
}

/* ---- Raw envelope calls ---- */

typedef struct {
    void *dealer;
    uint64_t next_id;
    uint8_t *buf;
    size_t cap;
} raw_t;

static int
s_raw_open(void *ctx, raw_t *r, const char *endpoint) {
    memset(r, 0, sizeof *r);
    r->dealer = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    if (!r->dealer ||
        zmq_setsockopt(r->dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(r->dealer, endpoint) != 0) {
        return -1;
    }
    r->next_id = 1;
    return 0;
}

static void
s_raw_close(raw_t *r) {
    if (r->dealer) {
        zmq_close(r->dealer);
    }
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/*  One request with method and payload msg; 0 when the reply came with
    code OK. The reply's payload is not decoded: this measures the server
    and the transport, not the client's decoding. */
static int
s_raw_call(raw_t *r, const char *method, const ProtobufCMessage *msg) {
    size_t psize = protobuf_c_message_get_packed_size(msg);
    Dossier__V1__Request req = DOSSIER__V1__REQUEST__INIT;
    req.id = r->next_id++;
    req.method = (char *)method;
    req.deadline_ms = S_CALL_TIMEOUT_MS;
    uint8_t small[512];
    uint8_t *payload = psize <= sizeof small ? small : malloc(psize);
    if (!payload) {
        return -1;
    }
    protobuf_c_message_pack(msg, payload);
    req.payload.data = payload;
    req.payload.len = psize;
    size_t size = dossier__v1__request__get_packed_size(&req);
    if (size > r->cap) {
        uint8_t *grown = realloc(r->buf, size);
        if (!grown) {
            if (payload != small) {
                free(payload);
            }
            return -1;
        }
        r->buf = grown;
        r->cap = size;
    }
    dossier__v1__request__pack(&req, r->buf);
    if (payload != small) {
        free(payload);
    }
    if (zmq_send(r->dealer, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(r->dealer, r->buf, size, 0) < 0) {
        return -1;
    }
    for (;;) {
        zmq_pollitem_t item = {r->dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, S_CALL_TIMEOUT_MS) <= 0) {
            return -1;
        }
        zmq_msg_t delim, body;
        zmq_msg_init(&delim);
        zmq_msg_init(&body);
        int ok = zmq_msg_recv(&delim, r->dealer, 0) >= 0 &&
                 zmq_msg_more(&delim) && zmq_msg_recv(&body, r->dealer, 0) >= 0;
        int rc = -1;
        bool stale = false;
        if (ok) {
            Dossier__V1__Response *resp = dossier__v1__response__unpack(
                NULL, zmq_msg_size(&body), zmq_msg_data(&body));
            if (resp) {
                stale = resp->id != req.id;
                rc = resp->code == 0 ? 0 : -1;
                dossier__v1__response__free_unpacked(resp, NULL);
            }
        }
        zmq_msg_close(&delim);
        zmq_msg_close(&body);
        if (!stale) {
            return rc;
        }
    }
}

/* ---- The load ---- */

typedef struct {
    int index;
    void *ctx;
    dossier_client_t *client;
    raw_t raw;
    hist_t hist[OP_COUNT];
    char queries[S_QUERIES][96];
    Dossier__V1__Report puts[S_PUT_DOCS];
    corpus_rng_t rng;
    int setup_rc;
    uint64_t deadline_ns;
} worker_t;

static pthread_barrier_t s_barrier;

static int
s_one_op(worker_t *w, int op) {
    uint32_t key = (uint32_t)(corpus_rng_next(&w->rng) % s_opts.records);
    char id[32];
    snprintf(id, sizeof id, "bench-%07u", key);
    dossier_status_t rc = DOSSIER_OK;
    switch (op) {
    case OP_GET: {
        if (s_opts.raw) {
            Dossier__V1__GetRequest req = DOSSIER__V1__GET_REQUEST__INIT;
            req.id = id;
            return s_raw_call(&w->raw, s_methods[op], &req.base);
        }
        Dossier__V1__Report *report = NULL;
        rc = dossier_get(w->client, id, &report, NULL);
        dossier_report_free(report);
        break;
    }
    case OP_LIST: {
        Dossier__V1__ReportFilter filter = DOSSIER__V1__REPORT_FILTER__INIT;
        Dossier__V1__ListRequest req = DOSSIER__V1__LIST_REQUEST__INIT;
        uint32_t years = s_opts.records / (uint32_t)corpus_countries();
        years = years < 1 ? 1 : years > CORPUS_YEARS ? CORPUS_YEARS : years;
        filter.year_min = filter.year_max =
            2001 + (uint32_t)(corpus_rng_next(&w->rng) % years);
        req.filter = &filter;
        req.page_size = 100;
        req.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_SUMMARY;
        if (s_opts.raw) {
            return s_raw_call(&w->raw, s_methods[op], &req.base);
        }
        Dossier__V1__ListResponse *resp = NULL;
        rc = dossier_list(w->client, &req, &resp, NULL);
        dossier_message_free(resp);
        break;
    }
    case OP_SEARCH: {
        Dossier__V1__SearchRequest req = DOSSIER__V1__SEARCH_REQUEST__INIT;
        req.query = w->queries[corpus_rng_next(&w->rng) % S_QUERIES];
        if (s_opts.raw) {
            return s_raw_call(&w->raw, s_methods[op], &req.base);
        }
        Dossier__V1__SearchResponse *resp = NULL;
        rc = dossier_search(w->client, &req, &resp, NULL);
        dossier_message_free(resp);
        break;
    }
    case OP_PUT: {
        Dossier__V1__Report *doc =
            &w->puts[corpus_rng_next(&w->rng) % S_PUT_DOCS];
        char *saved = doc->id;
        doc->id = id;
        if (s_opts.raw) {
            Dossier__V1__PutRequest req = DOSSIER__V1__PUT_REQUEST__INIT;
            req.report = doc;
            int r = s_raw_call(&w->raw, s_methods[op], &req.base);
            doc->id = saved;
            return r;
        }
        Dossier__V1__PutResponse *resp = NULL;
        rc = dossier_put(w->client, doc, 0, false, &resp, NULL);
        doc->id = saved;
        dossier_message_free(resp);
        break;
    }
    default:
        return -1;
    }
    return rc == DOSSIER_OK ? 0 : -1;
}

static int
s_pick_op(worker_t *w) {
    unsigned total = 0;
    for (int k = 0; k < OP_COUNT; k++) {
        total += s_opts.mix[k];
    }
    unsigned r = (unsigned)(corpus_rng_next(&w->rng) % total);
    for (int k = 0; k < OP_COUNT; k++) {
        if (r < s_opts.mix[k]) {
            return k;
        }
        r -= s_opts.mix[k];
    }
    return OP_GET;
}

static int
s_worker_setup(worker_t *w) {
    corpus_rng_seed(&w->rng, 0x10000000ull + (uint64_t)w->index);
    for (int q = 0; q < S_QUERIES; q++) {
        corpus_three_terms(&w->rng, w->queries[q], sizeof w->queries[q]);
    }
    if (s_opts.mix[OP_PUT]) {
        for (int k = 0; k < S_PUT_DOCS; k++) {
            uint32_t i =
                (uint32_t)((uint32_t)w->index * S_PUT_DOCS + (uint32_t)k) %
                s_opts.records;
            if (corpus_report(i, s_opts.record_size, &w->puts[k]) != 0) {
                return -1;
            }
        }
    }
    if (s_opts.raw) {
        return s_raw_open(w->ctx, &w->raw, s_opts.endpoint);
    }
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = S_CALL_TIMEOUT_MS;
    options.client_name = "dossier-bench";
    if (dossier_client_new(s_opts.endpoint, &options, &w->client, NULL) !=
        DOSSIER_OK) {
        return -1;
    }
    /* Connect before the clock starts. */
    return dossier_health(w->client, NULL, NULL, NULL) == DOSSIER_OK ? 0 : -1;
}

/*  Starts a pipelined Get of a random record into *pending; 0 or -1. */
static int
s_get_start(worker_t *w, dossier_pending_t **pending) {
    uint32_t key = (uint32_t)(corpus_rng_next(&w->rng) % s_opts.records);
    char id[32];
    snprintf(id, sizeof id, "bench-%07u", key);
    Dossier__V1__GetRequest req = DOSSIER__V1__GET_REQUEST__INIT;
    req.id = id;
    return dossier_call_start(w->client, s_methods[OP_GET], &req.base, pending,
                              NULL) == DOSSIER_OK
               ? 0
               : -1;
}

/*  --in-flight K: keeps K Gets in flight on the worker's one client,
    finishing the oldest and starting the next; each latency runs from
    its start to its finish. */
static void
s_worker_pipelined(worker_t *w) {
    int k = s_opts.in_flight;
    dossier_pending_t *pending[S_MAX_IN_FLIGHT] = {0};
    uint64_t started[S_MAX_IN_FLIGHT] = {0};
    bool stopping = false;
    for (int i = 0; i < k; i++) {
        started[i] = s_now_ns();
        if (s_get_start(w, &pending[i]) != 0) {
            w->hist[OP_GET].errors++;
        }
    }
    for (int next = 0, live = k; live > 0; next = (next + 1) % k) {
        if (!pending[next]) {
            continue;
        }
        Dossier__V1__Report *report = NULL;
        dossier_status_t rc = dossier_call_finish(
            w->client, &pending[next], &dossier__v1__report__descriptor,
            (ProtobufCMessage **)&report, NULL);
        uint64_t t1 = s_now_ns();
        dossier_report_free(report);
        if (rc == DOSSIER_OK) {
            s_hist_add(&w->hist[OP_GET], t1 - started[next]);
        } else {
            w->hist[OP_GET].errors++;
        }
        live--;
        stopping = stopping || t1 >= w->deadline_ns || atomic_load(&s_stop);
        if (!stopping) {
            started[next] = s_now_ns();
            if (s_get_start(w, &pending[next]) == 0) {
                live++;
            } else {
                w->hist[OP_GET].errors++;
            }
        }
    }
}

static void *
s_worker_main(void *arg) {
    worker_t *w = arg;
    w->setup_rc = s_worker_setup(w);
    pthread_barrier_wait(&s_barrier);
    pthread_barrier_wait(&s_barrier); /* the main thread set the deadline */
    if (w->setup_rc != 0) {
        return NULL;
    }
    if (s_opts.in_flight > 1) {
        s_worker_pipelined(w);
        return NULL;
    }
    while (!atomic_load(&s_stop)) {
        int op = s_pick_op(w);
        uint64_t t0 = s_now_ns();
        int rc = s_one_op(w, op);
        uint64_t t1 = s_now_ns();
        if (rc == 0) {
            s_hist_add(&w->hist[op], t1 - t0);
        } else {
            w->hist[op].errors++;
        }
        if (t1 >= w->deadline_ns) {
            break;
        }
    }
    return NULL;
}

static void
s_worker_free(worker_t *w) {
    dossier_client_destroy(&w->client);
    s_raw_close(&w->raw);
    for (int k = 0; k < S_PUT_DOCS; k++) {
        corpus_report_clear(&w->puts[k]);
    }
}

/* ---- The echo floor ---- */

/*  The echo server runs in a child process of its own, with its own
    ZeroMQ context, as dossierd does: a thread sharing the clients'
    context and process would make the floor unfairly low. It reads a
    burst of messages per wake-up, as dossierd's loop does, and stops when
    the stop pipe closes. */
static void
s_echo_child(int endpoint_fd, int stop_fd) {
    void *ctx = zmq_ctx_new();
    void *router = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    char endpoint[256] = "";
    size_t size = sizeof endpoint;
    int linger = 0;
    if (!router ||
        zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0) {
        endpoint[0] = '\0';
    }
    if (write(endpoint_fd, endpoint, strlen(endpoint) + 1) < 0 ||
        !endpoint[0]) {
        _exit(1);
    }
    close(endpoint_fd);
    for (;;) {
        zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0},
                                  {NULL, stop_fd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 1000) < 0 && errno != EINTR) {
            break;
        }
        if (items[1].revents) {
            break; /* the parent closed the pipe, or is gone */
        }
        for (int burst = 0; burst < 256 && items[0].revents; burst++) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, router, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                break;
            }
            for (;;) {
                bool more = zmq_msg_more(&part);
                zmq_msg_send(&part, router, more ? ZMQ_SNDMORE : 0);
                if (!more) {
                    break;
                }
                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, router, 0) < 0) {
                    zmq_msg_close(&part);
                    break;
                }
            }
        }
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
    _exit(0);
}

typedef struct {
    pid_t pid;
    int stop_fd;
    char endpoint[256];
} echo_t;

/*  Starts the echo process; call before any thread or context exists. */
static int
s_echo_spawn(echo_t *e) {
    int ep[2], stop[2];
    if (pipe(ep) != 0) {
        return -1;
    }
    if (pipe(stop) != 0) {
        close(ep[0]);
        close(ep[1]);
        return -1;
    }
    fflush(stdout);
    e->pid = fork();
    if (e->pid < 0) {
        return -1;
    }
    if (e->pid == 0) {
        close(ep[0]);
        close(stop[1]);
        s_echo_child(ep[1], stop[0]);
    }
    close(ep[1]);
    close(stop[0]);
    e->stop_fd = stop[1];
    ssize_t got = 0, r;
    while ((size_t)got < sizeof e->endpoint - 1 &&
           (r = read(ep[0], e->endpoint + got,
                     sizeof e->endpoint - 1 - (size_t)got)) > 0) {
        got += r;
        if (e->endpoint[got - 1] == '\0') {
            break;
        }
    }
    close(ep[0]);
    e->endpoint[got > 0 ? got : 0] = '\0';
    return e->endpoint[0] ? 0 : -1;
}

static void
s_echo_stop(echo_t *e) {
    if (e->pid > 0) {
        close(e->stop_fd);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
}

typedef struct {
    void *ctx;
    const char *endpoint;
    hist_t hist;
    uint64_t deadline_ns;
    int setup_rc;
} echo_client_t;

static void *
s_echo_client_main(void *arg) {
    echo_client_t *c = arg;
    void *dealer = zmq_socket(c->ctx, ZMQ_DEALER);
    int linger = 0;
    uint8_t *payload = malloc(s_opts.record_size);
    uint8_t *back = malloc(s_opts.record_size + 64);
    c->setup_rc = dealer && payload && back &&
                          zmq_setsockopt(dealer, ZMQ_LINGER, &linger,
                                         sizeof linger) == 0 &&
                          zmq_connect(dealer, c->endpoint) == 0
                      ? 0
                      : -1;
    if (payload) {
        memset(payload, 'x', s_opts.record_size);
    }
    pthread_barrier_wait(&s_barrier);
    pthread_barrier_wait(&s_barrier);
    while (c->setup_rc == 0) {
        uint64_t t0 = s_now_ns();
        bool ok = zmq_send(dealer, "", 0, ZMQ_SNDMORE) >= 0 &&
                  zmq_send(dealer, payload, s_opts.record_size, 0) >= 0;
        if (ok) {
            zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
            ok = zmq_poll(&item, 1, S_CALL_TIMEOUT_MS) > 0 &&
                 zmq_recv(dealer, back, 1, 0) >= 0 &&
                 zmq_recv(dealer, back, s_opts.record_size + 64, 0) ==
                     (int)s_opts.record_size;
        }
        uint64_t t1 = s_now_ns();
        if (!ok) {
            c->hist.errors++;
            break;
        }
        s_hist_add(&c->hist, t1 - t0);
        if (t1 >= c->deadline_ns) {
            break;
        }
    }
    if (dealer) {
        zmq_close(dealer);
    }
    free(payload);
    free(back);
    return NULL;
}

/*  Runs the echo floor against the echo process at endpoint; fills
 *total. Returns 0 or -1. */
static int
s_run_floor(void *ctx, const char *endpoint, hist_t *total, double *seconds) {
    int n = s_opts.concurrency;
    echo_client_t *clients = calloc((size_t)n, sizeof *clients);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    int rc = clients && threads ? 0 : -1;
    int started = 0;
    if (rc == 0) {
        pthread_barrier_init(&s_barrier, NULL, (unsigned)n + 1);
        for (int i = 0; i < n; i++) {
            clients[i].ctx = ctx;
            clients[i].endpoint = endpoint;
            if (pthread_create(&threads[i], NULL, s_echo_client_main,
                               &clients[i]) != 0) {
                fprintf(stderr, "dossier-bench: cannot start threads\n");
                exit(1);
            }
            started++;
        }
        pthread_barrier_wait(&s_barrier);
        uint64_t t0 = s_now_ns();
        uint64_t deadline = t0 + (uint64_t)(s_opts.floor_seconds * 1e9);
        for (int i = 0; i < n; i++) {
            clients[i].deadline_ns = deadline;
        }
        pthread_barrier_wait(&s_barrier);
        for (int i = 0; i < started; i++) {
            pthread_join(threads[i], NULL);
            if (clients[i].setup_rc != 0) {
                rc = -1;
            }
            s_hist_merge(total, &clients[i].hist);
        }
        *seconds = (double)(s_now_ns() - t0) / 1e9;
        pthread_barrier_destroy(&s_barrier);
    }
    free(clients);
    free(threads);
    return rc;
}

/* ---- Preload ---- */

typedef struct {
    int index;
    int n_threads;
    int rc;
    atomic_uint *next;
} preload_t;

static void *
s_preload_main(void *arg) {
    preload_t *p = arg;
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 120000;
    options.client_name = "dossier-bench-preload";
    dossier_client_t *client = NULL;
    if (dossier_client_new(s_opts.endpoint, &options, &client, NULL) !=
        DOSSIER_OK) {
        p->rc = -1;
        return NULL;
    }
    Dossier__V1__ImportTextRequest docs[S_PRELOAD_BATCH];
    Dossier__V1__ImportTextRequest *ptrs[S_PRELOAD_BATCH];
    char ids[S_PRELOAD_BATCH][32];
    for (;;) {
        unsigned lo = atomic_fetch_add(p->next, S_PRELOAD_BATCH);
        if (lo >= s_opts.records) {
            break;
        }
        unsigned hi = lo + S_PRELOAD_BATCH;
        hi = hi > s_opts.records ? s_opts.records : hi;
        size_t n = 0;
        for (unsigned i = lo; i < hi; i++, n++) {
            dossier__v1__import_text_request__init(&docs[n]);
            snprintf(ids[n], sizeof ids[n], "bench-%07u", i);
            docs[n].id = ids[n];
            docs[n].filename = ids[n];
            docs[n].text = corpus_refworld(i, s_opts.record_size);
            ptrs[n] = &docs[n];
            if (!docs[n].text) {
                p->rc = -1;
            }
        }
        Dossier__V1__ImportBatchRequest req =
            DOSSIER__V1__IMPORT_BATCH_REQUEST__INIT;
        req.documents = ptrs;
        req.n_documents = n;
        Dossier__V1__ImportBatchResponse *resp = NULL;
        dossier_error_t err = {0};
        if (p->rc == 0) {
            dossier_status_t st =
                dossier_import_batch(client, &req, &resp, &err);
            if (st != DOSSIER_OK) {
                fprintf(stderr, "dossier-bench: preload: %s\n", err.message);
                p->rc = -1;
            }
            for (size_t k = 0; resp && k < resp->n_results; k++) {
                if (resp->results[k]->code != 0) {
                    fprintf(stderr, "dossier-bench: preload of %s: %s\n",
                            ids[k], resp->results[k]->message);
                    p->rc = -1;
                    break;
                }
            }
            dossier_message_free(resp);
        }
        for (size_t k = 0; k < n; k++) {
            free(docs[k].text);
        }
        if (p->rc != 0) {
            break;
        }
    }
    dossier_client_destroy(&client);
    return NULL;
}

static int
s_preload(void) {
    int n = s_opts.concurrency < 4 ? s_opts.concurrency : 4;
    n = n < 2 ? 2 : n;
    atomic_uint next = 0;
    preload_t p[4];
    pthread_t t[4];
    uint64_t t0 = s_now_ns();
    for (int i = 0; i < n; i++) {
        p[i] = (preload_t){i, n, 0, &next};
        if (pthread_create(&t[i], NULL, s_preload_main, &p[i]) != 0) {
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        rc |= p[i].rc;
    }
    double s = (double)(s_now_ns() - t0) / 1e9;
    if (rc == 0) {
        printf("preload: %u records of %zu B through ImportBatch in %.2f s "
               "(%.0f/s)\n",
               s_opts.records, s_opts.record_size, s, s_opts.records / s);
    }
    return rc;
}

/* ---- Corpus files ---- */

static int
s_write_corpus(const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "dossier-bench: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < s_opts.records; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bench-%07u.txt", dir, i);
        char *text = corpus_refworld(i, 0);
        FILE *f = text ? fopen(path, "w") : NULL;
        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "dossier-bench: cannot write %s: %s\n", path,
                    strerror(errno));
            free(text);
            return 1;
        }
        bytes += strlen(text);
        free(text);
    }
    printf("wrote %u Refworld text files (%.1f MB) to %s\n", s_opts.records,
           (double)bytes / 1e6, dir);
    return 0;
}

/* ---- List scan ---- */

/*  --list-scan: every record through full-view List pages, each decoded,
    nothing printed: the calls `dossier export` makes, without its
    output. */
static int
s_list_scan(void) {
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 120000;
    options.client_name = "dossier-bench-scan";
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    if (dossier_client_new(s_opts.endpoint, &options, &client, &err) !=
        DOSSIER_OK) {
        fprintf(stderr, "dossier-bench: %s\n", err.message);
        return 1;
    }
    Dossier__V1__ListRequest req = DOSSIER__V1__LIST_REQUEST__INIT;
    req.view = DOSSIER__V1__REPORT_VIEW__REPORT_VIEW_FULL;
    req.page_size = s_opts.list_scan;
    char *token = NULL;
    uint64_t records = 0, pages = 0;
    int rc = 0;
    uint64_t t0 = s_now_ns();
    for (;;) {
        req.page_token = token ? token : (char *)"";
        Dossier__V1__ListResponse *page = NULL;
        if (dossier_list(client, &req, &page, &err) != DOSSIER_OK) {
            fprintf(stderr, "dossier-bench: List: %s\n", err.message);
            rc = 1;
            break;
        }
        records += page->n_reports;
        pages++;
        free(token);
        token = page->next_page_token && page->next_page_token[0]
                    ? strdup(page->next_page_token)
                    : NULL;
        dossier_message_free(page);
        if (!token) {
            break;
        }
    }
    double seconds = (double)(s_now_ns() - t0) / 1e9;
    free(token);
    dossier_client_destroy(&client);
    if (rc == 0) {
        printf("scan: records=%" PRIu64 " pages=%" PRIu64 " page_size=%u "
               "seconds=%.3f records_s=%.0f\n",
               records, pages, s_opts.list_scan, seconds,
               (double)records / seconds);
    }
    return rc;
}

/* ---- Server memory ---- */

/*  The server's resident size in KiB (VmRSS), and its anonymous part
    (RssAnon: the heap and stacks, without the pages of the LMDB map,
    which count as file pages); -1 when unknown. */
static void
s_rss_kb(long pid, long *rss, long *anon) {
    *rss = *anon = -1;
    if (pid <= 0) {
        return;
    }
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *rss = strtol(line + 6, NULL, 10);
        } else if (strncmp(line, "RssAnon:", 8) == 0) {
            *anon = strtol(line + 8, NULL, 10);
        }
    }
    if (f) {
        fclose(f);
    }
}

/*  The server's CPU time so far in clock ticks (utime + stime, fields 14
    and 15 of /proc/PID/stat, counted after the parenthesised name, which
    may hold spaces); -1 when unknown. */
static long long
s_cpu_ticks(long pid) {
    if (pid <= 0) {
        return -1;
    }
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    text[n] = '\0';
    char *p = strrchr(text, ')');
    long long utime = -1, stime = -1;
    for (int field = 2; p && field < 15; field++) {
        p = strchr(p + 1, ' ');
        if (p && field == 13) {
            utime = strtoll(p + 1, NULL, 10);
        } else if (p && field == 14) {
            stime = strtoll(p + 1, NULL, 10);
        }
    }
    return utime >= 0 && stime >= 0 ? utime + stime : -1;
}

/* ---- Report ---- */

static void
s_print_row(const char *name, const hist_t *h, double seconds) {
    printf("%-8s %10" PRIu64 " %10.0f %9.1f %9.1f %9.1f %9.1f %7" PRIu64 "\n",
           name, h->n, (double)h->n / seconds, s_hist_pct(h, 50),
           s_hist_pct(h, 90), s_hist_pct(h, 99), (double)h->max / 1000.0,
           h->errors);
}

int
main(int argc, char **argv) {
    if (s_parse_args(argc, argv, &s_opts) != 0) {
        s_usage(stderr);
        return 2;
    }
    if (corpus_init(s_opts.seed) != 0) {
        fprintf(stderr, "dossier-bench: out of memory\n");
        return 1;
    }
    if (s_opts.write_corpus) {
        return s_write_corpus(s_opts.write_corpus);
    }
    if (s_opts.write_queries) {
        /* The queries of worker 0 (s_worker_main's seeding), so HTTP
           clients search what dossier-bench searches. */
        corpus_rng_t rng;
        corpus_rng_seed(&rng, 0x10000000ull);
        for (int q = 0; q < S_QUERIES; q++) {
            char query[128];
            corpus_three_terms(&rng, query, sizeof query);
            printf("%s\n", query);
        }
        return 0;
    }
    if (s_opts.list_scan) {
        return s_list_scan();
    }
    echo_t echo = {0};
    if (s_opts.floor && s_echo_spawn(&echo) != 0) {
        fprintf(stderr, "dossier-bench: cannot start the echo server\n");
        s_echo_stop(&echo);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    if (!ctx) {
        fprintf(stderr, "dossier-bench: cannot create a ZeroMQ context\n");
        return 1;
    }
    int n = s_opts.concurrency;
    printf("dossier-bench: %s, %s, concurrency %d (%d in flight each), "
           "%.1f s, mix %s, record %zu B, %u records\n",
           s_opts.endpoint, s_opts.raw ? "raw DEALER" : "libdossier", n,
           s_opts.in_flight, s_opts.duration, s_opts.mix_text,
           s_opts.record_size, s_opts.records);

    hist_t *floor_h = calloc(1, sizeof *floor_h);
    double floor_s = 0;
    if (!floor_h) {
        return 1;
    }
    /* The echo process's CPU time per round trip: the floor of what a
       server spends per call on ZeroMQ alone. */
    double floor_cpu_us = -1;
    if (s_opts.floor) {
        long long echo_cpu0 = s_cpu_ticks((long)echo.pid);
        int floor_rc = s_run_floor(ctx, echo.endpoint, floor_h, &floor_s);
        long long echo_cpu1 = s_cpu_ticks((long)echo.pid);
        if (echo_cpu0 >= 0 && echo_cpu1 >= 0 && floor_h->n) {
            floor_cpu_us = (double)(echo_cpu1 - echo_cpu0) * 1e6 /
                           (double)sysconf(_SC_CLK_TCK) / (double)floor_h->n;
        }
        s_echo_stop(&echo);
        if (floor_rc != 0) {
            fprintf(stderr, "dossier-bench: the echo floor failed\n");
            return 1;
        }
    }
    if (s_opts.preload && s_preload() != 0) {
        fprintf(stderr, "dossier-bench: preload failed\n");
        return 1;
    }
    long rss_before, anon_before;
    s_rss_kb(s_opts.server_pid, &rss_before, &anon_before);
    long long cpu_before = s_cpu_ticks(s_opts.server_pid);

    worker_t *workers = calloc((size_t)n, sizeof *workers);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (!workers || !threads) {
        return 1;
    }
    pthread_barrier_init(&s_barrier, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        workers[i].index = i;
        workers[i].ctx = ctx;
        if (pthread_create(&threads[i], NULL, s_worker_main, &workers[i]) !=
            0) {
            fprintf(stderr, "dossier-bench: cannot start threads\n");
            return 1;
        }
    }
    pthread_barrier_wait(&s_barrier);
    uint64_t t0 = s_now_ns();
    for (int i = 0; i < n; i++) {
        workers[i].deadline_ns = t0 + (uint64_t)(s_opts.duration * 1e9);
    }
    pthread_barrier_wait(&s_barrier);
    hist_t *per_op = calloc(OP_COUNT, sizeof *per_op);
    hist_t *all = calloc(1, sizeof *all);
    if (!per_op || !all) {
        return 1;
    }
    int setup_failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        setup_failed += workers[i].setup_rc != 0;
        for (int k = 0; k < OP_COUNT; k++) {
            s_hist_merge(&per_op[k], &workers[i].hist[k]);
            s_hist_merge(all, &workers[i].hist[k]);
        }
        s_worker_free(&workers[i]);
    }
    double seconds = (double)(s_now_ns() - t0) / 1e9;
    pthread_barrier_destroy(&s_barrier);
    long rss_after, anon_after;
    s_rss_kb(s_opts.server_pid, &rss_after, &anon_after);
    long long cpu_after = s_cpu_ticks(s_opts.server_pid);
    double cpu_s =
        cpu_before >= 0 && cpu_after >= 0
            ? (double)(cpu_after - cpu_before) / (double)sysconf(_SC_CLK_TCK)
            : -1;
    if (setup_failed) {
        fprintf(stderr, "dossier-bench: %d of %d clients could not reach %s\n",
                setup_failed, n, s_opts.endpoint);
        return 1;
    }

    printf("%-8s %10s %10s %9s %9s %9s %9s %7s\n", "op", "count", "ops/s",
           "p50_us", "p90_us", "p99_us", "max_us", "errors");
    if (s_opts.floor) {
        s_print_row("echo", floor_h, floor_s);
    }
    for (int k = 0; k < OP_COUNT; k++) {
        if (s_opts.mix[k]) {
            s_print_row(s_op_names[k], &per_op[k], seconds);
        }
    }
    s_print_row("all", all, seconds);
    double ops = (double)all->n / seconds;
    double floor_ops = floor_s > 0 ? (double)floor_h->n / floor_s : 0;
    double p50 = s_hist_pct(all, 50), fp50 = s_hist_pct(floor_h, 50);
    if (s_opts.floor && floor_ops > 0) {
        printf("ratio to the echo floor (%zu B, c%d): ops/s %.2fx, "
               "p50 %.2fx, p99 %.2fx\n",
               s_opts.record_size, n, ops / floor_ops, p50 / fp50,
               s_hist_pct(all, 99) / s_hist_pct(floor_h, 99));
    }
    if (rss_before >= 0) {
        printf("server resident size: %ld KiB before the load, %ld KiB "
               "after; anonymous (heap) part %ld KiB before, %ld KiB after\n",
               rss_before, rss_after, anon_before, anon_after);
    }
    double cpu_us = cpu_s >= 0 && all->n ? cpu_s * 1e6 / (double)all->n : -1;
    if (cpu_s >= 0) {
        printf("server CPU: %.2f s over the load, %.1f us per call\n", cpu_s,
               cpu_us);
    }
    if (floor_cpu_us >= 0) {
        printf("echo server CPU: %.1f us per round trip\n", floor_cpu_us);
    }
    printf("summary: label=%s client=%s c=%d in_flight=%d mix=%s record=%zu "
           "records=%u "
           "seconds=%.2f ops=%" PRIu64 " ops_s=%.0f p50_us=%.1f p90_us=%.1f "
           "p99_us=%.1f max_us=%.1f errors=%" PRIu64
           " floor_ops_s=%.0f floor_p50_us=%.1f ratio_ops=%.3f "
           "ratio_p50=%.3f rss_kb_before=%ld rss_kb_after=%ld "
           "anon_kb_before=%ld anon_kb_after=%ld server_cpu_s=%.2f "
           "server_cpu_us_per_op=%.1f floor_cpu_us_per_op=%.1f\n",
           s_opts.label[0] ? s_opts.label : "-",
           s_opts.raw ? "raw" : "libdossier", n, s_opts.in_flight,
           s_opts.mix_text, s_opts.record_size, s_opts.records, seconds, all->n,
           ops, p50, s_hist_pct(all, 90), s_hist_pct(all, 99),
           (double)all->max / 1000.0, all->errors, floor_ops, fp50,
           floor_ops > 0 ? ops / floor_ops : 0, fp50 > 0 ? p50 / fp50 : 0,
           rss_before, rss_after, anon_before, anon_after, cpu_s, cpu_us,
           floor_cpu_us);
    free(floor_h);
    free(per_op);
    free(all);
    free(workers);
    free(threads);
    zmq_ctx_term(ctx);
    return 0;
}
