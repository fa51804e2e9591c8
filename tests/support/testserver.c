/*  testserver.c: starts, stops and talks to a real dossierd for tests.

    The server runs as a child process with its stderr in ROOT/dossierd.log.
    Readiness is the pid file: dossierd writes "PID\nENDPOINT\n" only after
    its socket is bound, so once the file names our child the endpoint in
    it accepts connections. Every wait is bounded in time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "status.h"
#include "testclock.h"
#include "testserver.h"

#define S_START_TIMEOUT_MS 10000
#define S_STOP_TIMEOUT_MS 10000
#define S_MAX_ARGS 64

struct testserver_t {
    char root[64];     /* "/tmp/dossier-test-XXXXXX" */
    char datadir[96];  /* ROOT/data */
    char logpath[96];  /* ROOT/dossierd.log */
    char pidpath[128]; /* ROOT/data/dossierd.pid */
    char endpoint[256];
    char *extra_args;
    pid_t pid;
    bool exited;     /* the current run has been reaped */
    int exit_status; /* as testserver_wait returns it, once exited */
    struct testserver_t *next_live; /* s_live registry */
};

/*  Servers not yet stopped, so that a test that fails (cmocka jumps out
    of it) leaves no server running and no directory behind at exit. */
static testserver_t *s_live;
static bool s_atexit_set;

const char *
testserver_bin_dir(void) {
    const char *dir = getenv("DOSSIER_BIN_DIR");
    return dir && *dir ? dir : DOSSIER_BIN_DIR;
}

/* The most of a server's log printed: its end, where a failure is. */
#define S_LOG_TAIL_LINES 200

void
testserver_print_log(const testserver_t *self) {
    FILE *file = fopen(self->logpath, "r");
    if (!file) {
        return;
    }
    char line[1024];
    long lines = 0;
    while (fgets(line, sizeof line, file)) {
        lines++;
    }
    rewind(file);
    fprintf(stderr, "---- %s ----\n", self->logpath);
    for (long n = 0; fgets(line, sizeof line, file); n++) {
        if (n >= lines - S_LOG_TAIL_LINES) {
            fputs(line, stderr);
        }
    }
    fprintf(stderr, "---- end of log ----\n");
    fclose(file);
}

bool
testserver_log_has(const testserver_t *self, const char *text) {
    FILE *f = fopen(self->logpath, "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        found = strstr(line, text) != NULL;
    }
    fclose(f);
    return found;
}

int
testserver_keep_endpoint(testserver_t *self) {
    size_t size = strlen(self->extra_args) + strlen(self->endpoint) + 16;
    char *args = malloc(size);
    if (!args) {
        return -1;
    }
    /* dossierd takes the last --bind given. */
    snprintf(args, size, "%s --bind %s", self->extra_args, self->endpoint);
    free(self->extra_args);
    self->extra_args = args;
    return 0;
}

bool
testserver_wait_log(const testserver_t *self, const char *text,
                    int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (testserver_log_has(self, text)) {
            return true;
        }
        testclock_sleep_ms(10);
    }
    return false;
}

void
testserver_remove_tree(const char *path) {
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) {
                continue;
            }
            char child[PATH_MAX];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
                testserver_remove_tree(child);
            } else {
                unlink(child);
            }
        }
        closedir(dir);
    }
    rmdir(path);
}

/*  Reaps the child if it has exited, waiting at most timeout_ms. */
static bool
s_reap(testserver_t *self, int timeout_ms) {
    if (self->exited) {
        return true;
    }
    int64_t end = testclock_now_ms() + timeout_ms;
    while (true) {
        int status;
        pid_t rc = waitpid(self->pid, &status, WNOHANG);
        if (rc == self->pid) {
            self->exited = true;
            if (WIFEXITED(status)) {
                self->exit_status = WEXITSTATUS(status);
            } else if (WIFSIGNALED(status)) {
                self->exit_status = 128 + WTERMSIG(status);
            } else {
                self->exit_status = 255;
            }
            return true;
        }
        if (rc < 0 && errno != EINTR) {
            /* Not our child any more (should not happen): call it gone. */
            self->exited = true;
            self->exit_status = 255;
            return true;
        }
        if (testclock_now_ms() >= end) {
            return false;
        }
        testclock_sleep_ms(5);
    }
}

/*  Reads the pid file; true when it is complete and names our child. */
static bool
s_read_pidfile(testserver_t *self) {
    FILE *file = fopen(self->pidpath, "r");
    if (!file) {
        return false;
    }
    char text[512];
    size_t size = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[size] = '\0';
    char *newline = strchr(text, '\n');
    if (!newline) {
        return false;
    }
    *newline = '\0';
    char *endpoint = newline + 1;
    char *end = strchr(endpoint, '\n');
    if (!end || end == endpoint) {
        return false;
    }
    *end = '\0';
    char *tail;
    long pid = strtol(text, &tail, 10);
    if (*tail || pid != (long)self->pid) {
        return false;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    return true;
}

/*  Forks and execs dossierd and waits for its pid file. */
static int
s_launch(testserver_t *self) {
    char binary[PATH_MAX];
    snprintf(binary, sizeof binary, "%s/dossierd", testserver_bin_dir());

    char *args_copy = strdup(self->extra_args ? self->extra_args : "");
    if (!args_copy) {
        return -1;
    }
    char *argv[S_MAX_ARGS + 8];
    int argc = 0;
    argv[argc++] = binary;
    argv[argc++] = "--data";
    argv[argc++] = self->datadir;
    argv[argc++] = "--bind";
    argv[argc++] = "tcp://127.0.0.1:*";
    char *save = NULL;
    for (char *word = strtok_r(args_copy, " \t\n", &save); word;
         word = strtok_r(NULL, " \t\n", &save)) {
        if (argc >= S_MAX_ARGS) {
            fprintf(stderr, "testserver: too many extra arguments\n");
            free(args_copy);
            return -1;
        }
        argv[argc++] = word;
    }
    argv[argc] = NULL;

    self->endpoint[0] = '\0';
    self->exited = false;
    self->exit_status = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "testserver: fork: %s\n", strerror(errno));
        free(args_copy);
        return -1;
    }
    if (pid == 0) {
        /* If the test process dies, so does its server (cleanly). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int log = open(self->logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (log >= 0) {
            dup2(log, STDERR_FILENO);
            dup2(log, STDOUT_FILENO);
        }
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
        }
        execv(binary, argv);
        fprintf(stderr, "testserver: cannot run %s: %s\n", binary,
                strerror(errno));
        _exit(127);
    }
    free(args_copy);
    self->pid = pid;

    int64_t end = testclock_now_ms() + S_START_TIMEOUT_MS;
    while (testclock_now_ms() < end) {
        if (s_read_pidfile(self)) {
            return 0;
        }
        if (s_reap(self, 0)) {
            fprintf(stderr,
                    "testserver: dossierd exited with status %d before "
                    "writing %s\n",
                    self->exit_status, self->pidpath);
            testserver_print_log(self);
            return -1;
        }
        testclock_sleep_ms(10);
    }
    fprintf(stderr, "testserver: no pid file %s after %d ms; killing it\n",
            self->pidpath, S_START_TIMEOUT_MS);
    kill(self->pid, SIGKILL);
    s_reap(self, S_STOP_TIMEOUT_MS);
    testserver_print_log(self);
    return -1;
}

/*  SIGTERM, bounded wait, then SIGKILL. Leaves exit_status set. */
static void
s_terminate(testserver_t *self) {
    if (self->exited) {
        return;
    }
    kill(self->pid, SIGTERM);
    if (!s_reap(self, S_STOP_TIMEOUT_MS)) {
        fprintf(stderr,
                "testserver: dossierd %d ignored SIGTERM for %d ms; "
                "killing it\n",
                (int)self->pid, S_STOP_TIMEOUT_MS);
        kill(self->pid, SIGKILL);
        s_reap(self, S_STOP_TIMEOUT_MS);
        self->exit_status = -2; /* never a clean exit */
    }
}

static void
s_unregister(testserver_t *self) {
    for (testserver_t **p = &s_live; *p; p = &(*p)->next_live) {
        if (*p == self) {
            *p = self->next_live;
            return;
        }
    }
}

static void
s_cleanup_at_exit(void) {
    while (s_live) {
        testserver_t *self = s_live;
        s_live = self->next_live;
        if (!self->exited) {
            kill(self->pid, SIGKILL);
            s_reap(self, S_STOP_TIMEOUT_MS);
        }
        testserver_remove_tree(self->root);
    }
}

testserver_t *
testserver_start(const char *extra_args) {
    testserver_t *self = calloc(1, sizeof *self);
    if (!self) {
        return NULL;
    }
    snprintf(self->root, sizeof self->root, "/tmp/dossier-test-XXXXXX");
    if (!mkdtemp(self->root)) {
        fprintf(stderr, "testserver: mkdtemp: %s\n", strerror(errno));
        free(self);
        return NULL;
    }
    snprintf(self->datadir, sizeof self->datadir, "%s/data", self->root);
    snprintf(self->logpath, sizeof self->logpath, "%s/dossierd.log",
             self->root);
    snprintf(self->pidpath, sizeof self->pidpath, "%s/dossierd.pid",
             self->datadir);
    self->extra_args = strdup(extra_args ? extra_args : "");
    self->exited = true;
    if (!self->extra_args || s_launch(self) != 0) {
        testserver_remove_tree(self->root);
        free(self->extra_args);
        free(self);
        return NULL;
    }
    if (!s_atexit_set) {
        atexit(s_cleanup_at_exit);
        s_atexit_set = true;
    }
    self->next_live = s_live;
    s_live = self;
    return self;
}

const char *
testserver_endpoint(testserver_t *self) {
    return self->endpoint;
}

const char *
testserver_datadir(testserver_t *self) {
    return self->datadir;
}

const char *
testserver_logpath(testserver_t *self) {
    return self->logpath;
}

pid_t
testserver_pid(testserver_t *self) {
    return self->pid;
}

int
testserver_kill(testserver_t *self, int signal) {
    if (self->exited) {
        return -1;
    }
    return kill(self->pid, signal) == 0 ? 0 : -1;
}

int
testserver_wait(testserver_t *self, int timeout_ms) {
    return s_reap(self, timeout_ms) ? self->exit_status : -1;
}

int
testserver_restart(testserver_t *self) {
    if (!self->exited) {
        s_terminate(self);
        if (self->exit_status != 0) {
            fprintf(stderr,
                    "testserver: dossierd exited with status %d on "
                    "SIGTERM before restart\n",
                    self->exit_status);
            testserver_print_log(self);
            return -1;
        }
    }
    return s_launch(self);
}

void
testserver_stop(testserver_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    testserver_t *self = *self_p;
    *self_p = NULL;
    s_unregister(self);
    s_terminate(self);
    int status = self->exit_status;
    if (status != 0) {
        fprintf(stderr, "testserver: dossierd exited with status %d\n", status);
        testserver_print_log(self);
    }
    testserver_remove_tree(self->root);
    free(self->extra_args);
    free(self);
    assert_int_equal(status, 0);
}

/*  The Request {id, method, payload = packed request (NULL: none),
    deadline_ms} packed into a new buffer; *size_p gets its size. Returns
    the buffer (the caller frees it) or NULL, *size_p untouched, when
    memory ran out: no cmocka assert, since testserver_call runs on any
    thread. */
static uint8_t *
s_pack(uint64_t id, const char *method, const ProtobufCMessage *request,
       uint32_t deadline_ms, size_t *size_p) {
    Dossier__V1__Request envelope = DOSSIER__V1__REQUEST__INIT;
    envelope.id = id;
    envelope.method = (char *)method;
    envelope.deadline_ms = deadline_ms;
    uint8_t *payload = NULL;
    if (request) {
        size_t size = protobuf_c_message_get_packed_size(request);
        payload = malloc(size ? size : 1);
        if (!payload) {
            return NULL;
        }
        protobuf_c_message_pack(request, payload);
        envelope.payload.data = payload;
        envelope.payload.len = size;
    }
    size_t size = dossier__v1__request__get_packed_size(&envelope);
    uint8_t *body = malloc(size ? size : 1);
    if (body) {
        dossier__v1__request__pack(&envelope, body);
        *size_p = size;
    }
    free(payload);
    return body;
}

uint8_t *
testserver_pack_request(uint64_t id, const char *method,
                        const ProtobufCMessage *request, uint32_t deadline_ms,
                        size_t *size_p) {
    uint8_t *body = s_pack(id, method, request, deadline_ms, size_p);
    assert_non_null(body);
    return body;
}

int
testserver_call(const char *endpoint, const char *method,
                const ProtobufCMessage *request,
                Dossier__V1__Response **response_p, int timeout_ms) {
    static uint64_t next_id = 1;
    uint64_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);

    size_t body_size = 0;
    uint8_t *body = s_pack(id, method, request, 0, &body_size);
    if (!body) {
        return DOSSIER_UNAVAILABLE;
    }

    int rc = DOSSIER_UNAVAILABLE;
    void *context = zmq_ctx_new();
    void *socket = context ? zmq_socket(context, ZMQ_REQ) : NULL;
    if (!socket) {
        goto cleanup_context;
    }
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(socket, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    if (zmq_connect(socket, endpoint) != 0) {
        goto cleanup_socket;
    }
    if (zmq_send(socket, body, body_size, 0) != (int)body_size) {
        goto cleanup_socket;
    }
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    if (zmq_msg_recv(&reply, socket, 0) < 0) {
        rc = errno == EAGAIN ? DOSSIER_DEADLINE_EXCEEDED : DOSSIER_UNAVAILABLE;
        zmq_msg_close(&reply);
        goto cleanup_socket;
    }
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zmq_msg_size(&reply), zmq_msg_data(&reply));
    zmq_msg_close(&reply);
    if (!response || response->id != id) {
        dossier__v1__response__free_unpacked(response, NULL);
        rc = DOSSIER_INTERNAL;
        goto cleanup_socket;
    }
    *response_p = response;
    rc = DOSSIER_OK;
cleanup_socket:
    zmq_close(socket);
cleanup_context:
    if (context) {
        zmq_ctx_term(context);
    }
    free(body);
    return rc;
}

ProtobufCMessage *
testserver_expect(const char *endpoint, const char *method,
                  const ProtobufCMessage *request, int expect_code,
                  const ProtobufCMessageDescriptor *output) {
    Dossier__V1__Response *response = NULL;
    int rc = testserver_call(endpoint, method, request, &response, 5000);
    if (rc != DOSSIER_OK) {
        fail_msg("%s: no response from %s: %s", method, endpoint,
                 dossier_strerror(rc));
    }
    if (response->code != expect_code) {
        int code = response->code;
        char message[512];
        snprintf(message, sizeof message, "%s", response->message);
        dossier__v1__response__free_unpacked(response, NULL);
        fail_msg("%s: expected %s, got %s: %s", method,
                 dossier_strerror(expect_code), dossier_strerror(code),
                 message);
    }
    ProtobufCMessage *message = NULL;
    if (expect_code == 0 && output) {
        message = protobuf_c_message_unpack(output, NULL, response->payload.len,
                                            response->payload.data);
        if (!message) {
            dossier__v1__response__free_unpacked(response, NULL);
            fail_msg("%s: the payload does not decode as %s", method,
                     output->name);
        }
    }
    dossier__v1__response__free_unpacked(response, NULL);
    return message;
}

void *
testserver_dealer(void *context, const char *endpoint, int timeout_ms) {
    void *socket = zmq_socket(context, ZMQ_DEALER);
    assert_non_null(socket);
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    assert_int_equal(zmq_connect(socket, endpoint), 0);
    return socket;
}
