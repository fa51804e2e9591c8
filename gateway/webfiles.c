/*  webfiles.c: the page's files, served by name from one directory (see
    webfiles.h).

    Names are checked before any file is touched (webfiles_resolve, a
    pure function): a path is taken raw, never percent-decoded, so the
    only names that reach openat() are plain segments of a safe alphabet
    below the directory's descriptor, with O_NOFOLLOW on the last one.
    The directory itself is the operator's: a symbolic link they put in
    it as a parent segment is followed. MHD sends the file from its
    descriptor (MHD_create_response_from_fd), which it closes. */
#include "webfiles.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PREFIX "/web/"
#define S_MAX_SEGMENTS 3
#define S_MAX_SEGMENT 64

struct webfiles {
    int dir_fd;
};

static const struct {
    const char *extension;
    const char *content_type;
} s_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"ico", "image/x-icon"},
};

/* Only this origin's scripts, styles, images and calls; data: for the
   empty favicon; no framing. */
static const char s_csp[] =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'";
static const char s_not_found[] = "not found\n";

dossier_status_t
webfiles_new(const char *dir, webfiles_t **webfiles_p, dossier_error_t *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "web directory %s is not a directory", dir);
    }
    struct stat st;
    if (fstatat(fd, "index.html", &st, 0) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "web directory %s has no index.html", dir);
    }
    webfiles_t *webfiles = calloc(1, sizeof *webfiles);
    if (webfiles == NULL) {
        close(fd);
        return dossier_error_set(err, DOSSIER_INTERNAL, "out of memory");
    }
    webfiles->dir_fd = fd;
    *webfiles_p = webfiles;
    return DOSSIER_OK;
}

void
webfiles_destroy(webfiles_t **webfiles_p) {
    if (webfiles_p == NULL || *webfiles_p == NULL) {
        return;
    }
    close((*webfiles_p)->dir_fd);
    free(*webfiles_p);
    *webfiles_p = NULL;
}

static size_t
s_path_length(const char *uri) {
    return strcspn(uri, "?#");
}

bool
webfiles_route(const char *uri) {
    if (uri == NULL) {
        return false;
    }
    size_t n = s_path_length(uri);
    return (n == 1 && uri[0] == '/') ||
           (n >= strlen(S_PREFIX) &&
            strncmp(uri, S_PREFIX, strlen(S_PREFIX)) == 0);
}

static bool
s_safe_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static const char *
s_type_of(const char *segment, size_t n) {
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++) {
        if (segment[i] == '.') {
            dot = segment + i;
        }
    }
    if (dot == NULL) {
        return NULL;
    }
    size_t ext_n = (size_t)(segment + n - dot - 1);
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++) {
        if (strlen(s_types[i].extension) == ext_n &&
            memcmp(s_types[i].extension, dot + 1, ext_n) == 0) {
            return s_types[i].content_type;
        }
    }
    return NULL;
}

bool
webfiles_resolve(const char *uri, char *name, size_t name_size,
                 const char **content_type) {
    if (uri == NULL || name == NULL || name_size == 0) {
        return false;
    }
    size_t n = s_path_length(uri);
    if (n == 1 && uri[0] == '/') {
        if (name_size < sizeof "index.html") {
            return false;
        }
        memcpy(name, "index.html", sizeof "index.html");
        *content_type = s_types[0].content_type;
        return true;
    }
    size_t prefix = strlen(S_PREFIX);
    if (n <= prefix || strncmp(uri, S_PREFIX, prefix) != 0 ||
        n - prefix >= name_size) {
        return false;
    }
    const char *path = uri + prefix;
    size_t path_n = n - prefix;
    size_t segments = 0;
    const char *segment = path;
    for (size_t i = 0; i <= path_n; i++) {
        if (i < path_n && path[i] != '/') {
            if (!s_safe_char(path[i])) {
                return false;
            }
            continue;
        }
        size_t seg_n = (size_t)(path + i - segment);
        if (seg_n == 0 || seg_n > S_MAX_SEGMENT || segment[0] == '.' ||
            ++segments > S_MAX_SEGMENTS) {
            return false;
        }
        if (i == path_n) {
            const char *type = s_type_of(segment, seg_n);
            if (type == NULL) {
                return false;
            }
            memcpy(name, path, path_n);
            name[path_n] = '\0';
            *content_type = type;
            return true;
        }
        segment = path + i + 1;
    }
    return false;
}

static void
s_common_headers(struct MHD_Response *response) {
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Content-Security-Policy", s_csp);
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
}

static struct MHD_Response *
s_text(const char *text, int status_value, int *status) {
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (response != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8");
        s_common_headers(response);
        *status = status_value;
    }
    return response;
}

struct MHD_Response *
webfiles_respond(const webfiles_t *webfiles, const char *verb, const char *uri,
                 const char *if_none_match, int *status, size_t *size) {
    *size = 0;
    if (strcmp(verb, "GET") != 0 && strcmp(verb, "HEAD") != 0) {
        struct MHD_Response *response =
            s_text("the page answers GET and HEAD only\n", 405, status);
        if (response != NULL) {
            MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW,
                                    "GET, HEAD");
        }
        return response;
    }
    char name[256];
    const char *content_type = NULL;
    if (!webfiles_resolve(uri, name, sizeof name, &content_type)) {
        return s_text(s_not_found, 404, status);
    }
    int fd = openat(webfiles->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return s_text(s_not_found, 404, status);
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"",
             (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec,
             (unsigned long)st.st_mtim.tv_nsec);
    struct MHD_Response *response;
    if (if_none_match != NULL && strstr(if_none_match, etag) != NULL) {
        close(fd);
        response =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        *status = 304;
    } else if (st.st_size == 0) {
        close(fd);
        response =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        *status = 200;
    } else {
        /* MHD owns fd from here, and closes it when the answer is sent
           (or on failure). */
        response = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        *status = 200;
        *size = (size_t)st.st_size;
        if (response == NULL) {
            close(fd);
        }
    }
    if (response == NULL) {
        return NULL;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "no-cache");
    s_common_headers(response);
    return response;
}
