/*  test_connection_limit.c: the front socket holds at most
    max_connections connections, authenticated or not (net/conns.h).

    Raw TCP connections that never say a word (each costs the server a
    descriptor and buffers until its handshake times out) are opened past
    the bound: the server closes the ones past it, and once they are gone
    a real client is served again. The handshake timeout is set long, so
    only the bound can close them here. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dossier.h"
#include "testassert.h"
#include "testclock.h"
#include "testserver.h"

#define S_MAX 2
#define S_OPENED 6

/*  A TCP connection to endpoint ("tcp://127.0.0.1:PORT"); -1 on failure. */
static int
s_connect(const char *endpoint) {
    const char *colon = strrchr(endpoint, ':');
    assert_non_null(colon);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/*  True when the server has closed fd (end of stream or reset); reads
    what is there (the server's ZMTP greeting) without waiting. */
static bool
s_closed_now(int fd) {
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    }
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/*  Waits at most timeout_ms until at least want of the n fds are closed;
    returns how many are. */
static int
s_wait_closed(const int *fds, int n, int want, int timeout_ms) {
    bool closed[64] = {false};
    int count = 0;
    int64_t end = testclock_now_ms() + timeout_ms;
    while (count < want && testclock_now_ms() < end) {
        struct pollfd p[64];
        for (int i = 0; i < n; i++) {
            p[i] = (struct pollfd){.fd = closed[i] ? -1 : fds[i],
                                   .events = POLLIN};
        }
        if (poll(p, (nfds_t)n, 100) <= 0) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            if (!closed[i] && p[i].revents && s_closed_now(fds[i])) {
                closed[i] = true;
                count++;
            }
        }
    }
    return count;
}

static void
test_connections_past_the_bound_are_dropped(void **state) {
    (void)state;
    testserver_t *server =
        testserver_start("--max-connections 2 --handshake-timeout-ms 600000");
    assert_non_null(server);
    const char *endpoint = testserver_endpoint(server);
    int fds[S_OPENED];
    for (int i = 0; i < S_OPENED; i++) {
        fds[i] = s_connect(endpoint);
        assert_true(fds[i] >= 0);
    }
    /* At most S_MAX stay: every one past the bound is closed (a slow
       count of the connections that came before can only close more). */
    int closed = s_wait_closed(fds, S_OPENED, S_OPENED - S_MAX, 10000);
    if (closed < S_OPENED - S_MAX) {
        fail_msg("%d of %d silent connections were closed; the bound is %d",
                 closed, S_OPENED, S_MAX);
    }
    assert_true(testserver_log_has(server, "over max_connections 2"));
    for (int i = 0; i < S_OPENED; i++) {
        close(fds[i]);
    }
    /* Once they are gone, a client is served again. */
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 2000;
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(endpoint, &options, &client, &err), &err);
    dossier_status_t rc = DOSSIER_UNAVAILABLE;
    for (int attempt = 0; attempt < 20 && rc != DOSSIER_OK; attempt++) {
        rc = dossier_health(client, NULL, NULL, &err);
    }
    assert_ok(rc, &err);
    dossier_client_destroy(&client);
    testserver_stop(&server);
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_past_the_bound_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
