/*  fuzz_webfiles.c: the page's name check (gateway/webfiles.c,
    webfiles_resolve), which decides what dossier-gateway may open under
    its --web directory. See fuzz.h.

    The input is a request target, as a client sends it (up to its first
    NUL). Whatever comes in, a name that is accepted must stay inside the
    directory: relative, made of [A-Za-z0-9._-] and '/', no empty, ".",
    ".." or hidden segment, at most three segments, NUL-terminated within
    the buffer, with a Content-Type; "/" alone is index.html. */
#include <string.h>

#include "fuzz.h"
#include "webfiles.h"

static void
s_webfiles_check_name(const char *name, size_t cap) {
    size_t n = strnlen(name, cap);
    FUZZ_CHECK(n > 0 && n < cap, "name not terminated or empty");
    FUZZ_CHECK(name[0] != '/', "absolute name %s", name);
    size_t segments = 0;
    const char *segment = name;
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        if (i < n && c != '/') {
            FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                           c == '-',
                       "character 0x%02x in %s", (unsigned char)c, name);
            continue;
        }
        size_t length = (size_t)(name + i - segment);
        FUZZ_CHECK(length > 0 && segment[0] != '.',
                   "empty, dot or hidden segment in %s", name);
        segments++;
        segment = name + i + 1;
    }
    FUZZ_CHECK(segments <= 3, "%zu segments in %s", segments, name);
}

int
fuzz_webfiles_one(const uint8_t *data, size_t size) {
    char *uri = malloc(size + 1);
    FUZZ_CHECK(uri != NULL, "out of memory");
    memcpy(uri, data, size);
    uri[size] = '\0';
    char name[256];
    const char *type = NULL;
    if (webfiles_resolve(uri, name, sizeof name, &type)) {
        FUZZ_CHECK(type != NULL, "no Content-Type for %s", name);
        FUZZ_CHECK(webfiles_route(uri), "resolved but not routed: %s", uri);
        s_webfiles_check_name(name, sizeof name);
        if (uri[0] == '/' && (uri[1] == '\0' || uri[1] == '?')) {
            FUZZ_CHECK(strcmp(name, "index.html") == 0, "/ is %s", name);
        }
    }
    /* A buffer too small is a refusal, never an overflow. */
    char tiny[4];
    if (webfiles_resolve(uri, tiny, sizeof tiny, &type)) {
        FUZZ_CHECK(strnlen(tiny, sizeof tiny) < sizeof tiny,
                   "name overflows a small buffer");
    }
    free(uri);
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_webfiles_one(data, size);
}
#endif
