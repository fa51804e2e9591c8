/*  fuzz.h: the entry functions of the libFuzzer harnesses.

    Each harness fuzz/fuzz_NAME.c defines fuzz_NAME_one(data, size), which
    runs one input through the module under test and checks what came out;
    a broken invariant prints what broke on stderr and calls abort(), which
    libFuzzer (and ctest) report as a crash. Built with DOSSIER_LIBFUZZER
    defined (fuzz/CMakeLists.txt, clang -fsanitize=fuzzer), a harness also
    defines LLVMFuzzerTestOneInput calling its entry function. Without it,
    tests/unit/test_fuzz_regress.c includes all the harness files into one
    program and replays every committed input (tests/regress/NAME/ and
    fuzz/corpus/NAME/) through them in the ordinary build, so the static
    helpers of each harness carry its own prefix.

    Every entry function takes size bytes of data (borrowed) and returns 0,
    as libFuzzer requires. */
#ifndef DOSSIER_FUZZ_H
#define DOSSIER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*  refworld_parse, then the report's promises: valid UTF-8 strings
    without NULs, a well-formed id, at most 32 warnings, packs and unpacks
    to the same bytes. */
int fuzz_refworld_one(const uint8_t *data, size_t size);

/*  The first byte picks a message type (Report, PutRequest,
    SearchRequest, Request); the rest is JSON for json_to_message. What
    parses is rendered with json_from_message (compact and pretty) and
    parsed again: both must pack to the same bytes as the first parse. */
int fuzz_json_one(const uint8_t *data, size_t size);

/*  query_parse and the tokenizer: a parsed query keeps its shape (at
    least one positive clause first, 1..QUERY_MAX_TERMS terms, each a
    NUL-terminated term of 1..TOKENIZE_MAX_TERM bytes); tokens lie inside
    the text, in order. */
int fuzz_query_one(const uint8_t *data, size_t size);

/*  The server's request path without sockets: the input is a serialized
    dossier.v1.Request, checked and dispatched as server/net/loop.c does
    (methods_find, payload unpacked as the method's input type, the stage
    handler via worker_run_stage, a writer stage inside a store batch that
    is committed) against a store in a temporary directory filled with the
    Refworld fixtures. An OK reply's payload must decode as the method's
    output, with valid UTF-8 in every string; after every committed write
    store_check must find no problem. The store is created on first use and
   rebuilt every FUZZ_ENVELOPE_RESET inputs so it stays small. */
int fuzz_envelope_one(const uint8_t *data, size_t size);

/*  dynpb_pool_new on a FileDescriptorSet: a refusal has a message; a
    pool finds its types and methods by name, and the input read as each
    of its first message types packs stably and renders as JSON that
    parses back to the same JSON. */
int fuzz_dynpb_one(const uint8_t *data, size_t size);

/*  Removes the temporary store of fuzz_envelope_one (also registered with
    atexit on first use); safe to call when there is none. */
void fuzz_envelope_cleanup(void);

/*  Forgets the envelope store's state: the next input starts from a fresh
    store (so a replayed input sees what it saw when it was found). */
void fuzz_envelope_reset(void);

/*  dossier-gateway's request parser (gateway/connect.h): "VERB TARGET",
    header lines, an empty line and a body. A parsed call's payload
    decodes as its method's request and fits the limit; an error has a
    Connect HTTP status, a message, and a JSON body naming its code. */
int fuzz_gateway_one(const uint8_t *data, size_t size);

#ifdef DOSSIER_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

/*  Fails the current input: prints where and why, then abort(). */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__,        \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/*  webfiles_resolve over the input as a request target: a name it
    accepts is relative, of safe characters only, without an empty, "."
    or ".." segment or a hidden one, and comes with a Content-Type. */
int fuzz_webfiles_one(const uint8_t *data, size_t size);

#endif
