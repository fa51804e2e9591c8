/*  fuzz_envelope.c: the server's request path, without sockets. See
    fuzz.h.

    The loop's checks of a request are api/request.c's request_accept,
    which sees no socket, so this harness runs the loop's steps with the
    server's own pieces: unpack the Request, request_accept (method,
    role, idempotency key, the payload as the method's input type), then
    worker_run_stage for the stage handler and,
    for writes (or a parse stage that continues on the writer, as
    ImportText does), the method's write handler inside a store batch
    that is committed as server/exec/writer.c does. Every caller is admin, so
    every method runs. Deadlines are kept in the job (deadline_ms) but
    not armed, so an input behaves the same on every run.

    Checks on the outcome: the code is a gRPC code; an error has a
    message and no payload; an OK payload decodes as the method's output
    and every string field in it is valid UTF-8 (protobuf clients in
    other languages refuse anything else); and after every committed
    write, store_check finds no problem. An error's message goes through
    loop_error_message, as every error reply of the loop does (handlers
    may quote request bytes), and what comes out must be valid UTF-8: the
    inputs in tests/regress/envelope/ found messages that were not
    (tests/integration/test_abuse_network.c checks the same live). */
#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/auth.h"
#include "net/loop.h"
#include "config.h"
#include "dossier/v1/rpc.pb-c.h"
#include "fuzz.h"
#include "api/handlers.h"
#include "exec/job.h"
#include "api/methods.h"
#include "api/request.h"
#include "refworld.h"
#include "store/store.h"
#include "exec/workers.h"
#include "text.h"

#ifndef DOSSIER_FIXTURE_DIR
#error "DOSSIER_FIXTURE_DIR must name tests/fixtures"
#endif

/* Inputs between two fresh stores: writes pile up otherwise. */
#define FUZZ_ENVELOPE_RESET 250

static struct {
    bool methods_ready;
    bool atexit_done;
    char dir[64];
    store_t *store;
    config_t config;
    auth_t *auth; /* no CURVE: loopback, every caller anonymous admin */
    handler_users_t users;
    handler_env_t env;
    unsigned long runs;
} s_env;

/*  Every string field of message and of the messages inside it. */
static void
s_env_check_strings(const ProtobufCMessage *message, int depth) {
    FUZZ_CHECK(depth < 32, "messages nested too deep");
    const ProtobufCMessageDescriptor *desc = message->descriptor;
    const char *base = (const char *)message;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_STRING &&
            field->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        size_t n = 1;
        const void *const *values = (const void *const *)(base + field->offset);
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + field->quantifier_offset);
            values = *(const void *const *const *)(base + field->offset);
        }
        for (size_t i = 0; i < n; i++) {
            if (!values[i]) {
                continue;
            }
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                FUZZ_CHECK(text_utf8_valid(values[i], strlen(values[i])),
                           "%s.%s[%zu] is not valid UTF-8", desc->name,
                           field->name, i);
            } else {
                s_env_check_strings(values[i], depth + 1);
            }
        }
    }
}

/*  Removes path and, when it is a directory, everything in it (depth
    bounded: the store writes at most backups/NAME). */
static void
s_env_remove_tree(const char *path, int depth) {
    struct stat info;
    if (lstat(path, &info) != 0) {
        return;
    }
    if (S_ISDIR(info.st_mode) && depth < 8) {
        DIR *dir = opendir(path);
        if (dir) {
            struct dirent *entry;
            while ((entry = readdir(dir)) != NULL) {
                if (strcmp(entry->d_name, ".") == 0 ||
                    strcmp(entry->d_name, "..") == 0) {
                    continue;
                }
                char child[1024];
                snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
                s_env_remove_tree(child, depth + 1);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/*  Removes the store directory and everything in it (Backup writes a
    backups/ directory there). */
static void
s_env_remove_dir(void) {
    if (!s_env.dir[0]) {
        return;
    }
    s_env_remove_tree(s_env.dir, 0);
    s_env.dir[0] = '\0';
}

void
fuzz_envelope_cleanup(void) {
    store_destroy(&s_env.store);
    s_env_remove_dir();
    auth_destroy(&s_env.auth);
    config_free(&s_env.config);
}

void
fuzz_envelope_reset(void) {
    store_destroy(&s_env.store);
    s_env_remove_dir();
}

/*  Stores every Refworld fixture that parses, so reads find records. */
static void
s_env_fill(void) {
    const char *fixtures = DOSSIER_FIXTURE_DIR "/refworld";
    DIR *dir = opendir(fixtures);
    FUZZ_CHECK(dir != NULL, "cannot open %s", fixtures);
    store_batch_t *batch = NULL;
    dossier_error_t err = {0};
    FUZZ_CHECK(store_batch_begin(s_env.store, &batch, &err) == DOSSIER_OK,
               "store_batch_begin: %s", err.message);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len < 5 || strcmp(entry->d_name + len - 4, ".txt") != 0) {
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", fixtures, entry->d_name);
        FILE *file = fopen(path, "rb");
        if (!file) {
            continue;
        }
        char text[65536];
        size_t size = fread(text, 1, sizeof text, file);
        fclose(file);
        refworld_result_t result;
        memset(&result, 0, sizeof result);
        if (refworld_parse(text, size, entry->d_name, &result, &err) !=
            DOSSIER_OK) {
            continue;
        }
        store_put_args_t args = {.user = "fuzz"};
        store_put_result_t put;
        (void)store_put(batch, result.report, &args, &put, &err);
        refworld_result_free(&result);
    }
    closedir(dir);
    FUZZ_CHECK(store_batch_commit(&batch, &err) == DOSSIER_OK,
               "store_batch_commit: %s", err.message);
}

/*  ReloadUsers' hook, as the loop sets it. */
static dossier_status_t
s_env_reload_users(void *arg, size_t *users, dossier_error_t *err) {
    return auth_reload(arg, users, err);
}

static void
s_env_open(void) {
    dossier_error_t err = {0};
    if (!s_env.methods_ready) {
        FUZZ_CHECK(methods_init(&err) == DOSSIER_OK, "methods_init: %s",
                   err.message);
        s_env.methods_ready = true;
    }
    snprintf(s_env.dir, sizeof s_env.dir, "/tmp/dossier-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(s_env.dir) != NULL, "mkdtemp failed");
    if (!s_env.config.data_dir) {
        char *argv[] = {"fuzz_envelope", "--data", s_env.dir, NULL};
        FUZZ_CHECK(config_from_args(&s_env.config, 3, argv, &err) == DOSSIER_OK,
                   "config_from_args: %s", err.message);
    } else {
        /* Backup writes under the data directory: the current one. */
        free(s_env.config.data_dir);
        s_env.config.data_dir = strdup(s_env.dir);
        FUZZ_CHECK(s_env.config.data_dir != NULL, "out of memory");
    }
    if (!s_env.auth) {
        s_env.auth = auth_new(&s_env.config, &err);
        FUZZ_CHECK(s_env.auth != NULL, "auth_new: %s", err.message);
    }
    store_options_t options = {
        .map_size = 8u << 20, .max_map_size = 1u << 30, .no_sync = true};
    FUZZ_CHECK(store_open(s_env.dir, &options, &s_env.store, &err) ==
                   DOSSIER_OK,
               "store_open %s: %s", s_env.dir, err.message);
    memset(&s_env.env, 0, sizeof s_env.env);
    s_env.env.store = s_env.store;
    s_env.env.config = &s_env.config;
    s_env.users.reload = s_env_reload_users;
    s_env.users.reload_arg = s_env.auth;
    s_env.users.security = "none";
    s_env.env.users = &s_env.users;
    if (!s_env.atexit_done) {
        atexit(fuzz_envelope_cleanup);
        s_env.atexit_done = true;
    }
    s_env_fill();
}

/*  The writer's part: one write in its own batch, committed. */
static void
s_env_write(job_t *job) {
    FUZZ_CHECK(job->method->write != NULL, "%s has no write stage",
               job->method->full_name);
    store_batch_t *batch = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc = store_batch_begin(s_env.store, &batch, &err);
    FUZZ_CHECK(rc == DOSSIER_OK, "store_batch_begin: %s", err.message);
    rc = job->method->write(&s_env.env, batch, job, &err);
    job_finish(job, rc, &err);
    if (rc != DOSSIER_OK) {
        store_batch_abort(&batch);
        return;
    }
    dossier_error_t commit_err = {0};
    rc = store_batch_commit(&batch, &commit_err);
    if (rc != DOSSIER_OK) {
        job_finish(job, rc, &commit_err);
        return;
    }
    uint64_t problems = 0;
    rc = store_check(s_env.store, &problems, &err);
    FUZZ_CHECK(rc == DOSSIER_OK && problems == 0,
               "after %s: store_check: %llu problems: %s",
               job->method->full_name, (unsigned long long)problems,
               err.message);
}

static void
s_env_check_reply(const job_t *job) {
    FUZZ_CHECK(job->code >= 0 && job->code <= 16, "%s answered code %d",
               job->method->full_name, (int)job->code);
    if (job->code != DOSSIER_OK) {
        FUZZ_CHECK(job->message[0] != '\0', "%s: %d without a message",
                   job->method->full_name, (int)job->code);
        FUZZ_CHECK(job->payload == NULL && job->payload_size == 0,
                   "%s: an error with a payload", job->method->full_name);
        char sent[512];
        loop_error_message(sent, sizeof sent, job->message);
        FUZZ_CHECK(text_utf8_valid(sent, strlen(sent)),
                   "%s: an error message that is not UTF-8 on the wire",
                   job->method->full_name);
        return;
    }
    ProtobufCMessage *output = protobuf_c_message_unpack(
        job->method->output, NULL, job->payload_size, job->payload);
    FUZZ_CHECK(output != NULL, "%s: the OK payload (%zu bytes) is not a %s",
               job->method->full_name, job->payload_size,
               job->method->output->name);
    s_env_check_strings(output, 0);
    protobuf_c_message_free_unpacked(output, NULL);
}

int
fuzz_envelope_one(const uint8_t *data, size_t size) {
    if (!s_env.store || ++s_env.runs % FUZZ_ENVELOPE_RESET == 0) {
        fuzz_envelope_reset();
        s_env_open();
    }
    Dossier__V1__Request *request =
        dossier__v1__request__unpack(NULL, size, data);
    if (!request) {
        return 0; /* the loop answers INVALID_ARGUMENT */
    }
    job_t *job = job_new();
    FUZZ_CHECK(job != NULL, "out of memory");
    snprintf(job->user, sizeof job->user, "anonymous");
    job->role = ROLE_ADMIN;
    /* As in the keyless loopback mode: a token is looked up (and, being
       made up, refused), never a reason to deny the admin. */
    job->tokens_honoured = true;
    dossier_error_t err = {0};
    dossier_status_t rc =
        request_accept(s_env.store, request, false, job, &err);
    dossier__v1__request__free_unpacked(request, NULL);
    FUZZ_CHECK(rc != DOSSIER_PERMISSION_DENIED, "admin was refused: %s",
               err.message);
    if (rc != DOSSIER_OK) {
        FUZZ_CHECK(err.message[0] != '\0', "refused with %d, no message",
                   (int)rc);
        job_destroy(&job);
        return 0;
    }
    job->deadline = 0; /* not armed: an input behaves the same every run */
    const method_t *method = job->method;
    if (method->handler) {
        worker_run_stage(&s_env.env, job);
        if (job->code == DOSSIER_OK && job->to_writer) {
            job->to_writer = false;
            s_env_write(job);
        }
    } else {
        s_env_write(job);
    }
    s_env_check_reply(job);
    job_destroy(&job);
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_envelope_one(data, size);
}
#endif
