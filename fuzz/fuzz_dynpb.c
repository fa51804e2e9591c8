/*  fuzz_dynpb.c: descriptors built from a FileDescriptorSet (dynpb.h).
    See fuzz.h.

    The set comes from the server's Describe, so from whoever answers on
    the CLI's endpoint: building must refuse a bad set with a message and
    never crash, and whatever it builds must be usable. So, for each of
    the first message types of a set that builds: the input itself, read
    as a message of that type (when dynpb_wire_bounded lets it through,
    as libdossier does), must pack to bytes that unpack and pack again to
    the same bytes; it must render as JSON, and JSON that parses back
    must pack to the same bytes as what was rendered (bar strings that
    were not valid UTF-8, which JSON cannot carry). Every method must be
    found by its full name, and its types must be in the pool. */
#include <stdbool.h>
#include <string.h>

#include "dynpb.h"
#include "fuzz.h"
#include "json.h"

/* Message types tried per set: enough to reach nested types, few enough
   to keep an input fast. */
#define FUZZ_DYNPB_TYPES 6

/*  The packed bytes of message; the caller frees. */
static uint8_t *
s_dynpb_pack(const ProtobufCMessage *message, size_t *size_p) {
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = malloc(size + 1);
    FUZZ_CHECK(packed != NULL, "out of memory");
    FUZZ_CHECK(protobuf_c_message_pack(message, packed) == size,
               "pack size disagrees");
    *size_p = size;
    return packed;
}

/*  data read as a message of type: packing is stable, JSON renders. */
static void
s_dynpb_message(const ProtobufCMessageDescriptor *type, const uint8_t *data,
                size_t size) {
    if (!dynpb_wire_bounded(type, data, size, DYNPB_MAX_DEPTH, 1u << 24)) {
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(type, NULL, size, data);
    if (m == NULL) {
        return;
    }
    size_t size1, size2;
    uint8_t *once = s_dynpb_pack(m, &size1);
    ProtobufCMessage *again =
        protobuf_c_message_unpack(type, NULL, size1, once);
    FUZZ_CHECK(again != NULL, "%s: packed bytes do not unpack", type->name);
    uint8_t *twice = s_dynpb_pack(again, &size2);
    FUZZ_CHECK(size1 == size2 && memcmp(once, twice, size1) == 0,
               "%s: packing is not stable", type->name);
    char *text = json_from_message(m, JSON_COMPACT);
    FUZZ_CHECK(text != NULL, "%s: json_from_message failed", type->name);
    ProtobufCMessage *parsed = NULL;
    dossier_error_t err = {0};
    if (json_to_message(type, text, strlen(text), &parsed, &err) ==
        DOSSIER_OK) {
        /* Rendering what parsed gives the same text: the JSON of a
           message is a fixed point once it went through JSON. */
        char *text2 = json_from_message(parsed, JSON_COMPACT);
        FUZZ_CHECK(text2 != NULL, "%s: json_from_message failed", type->name);
        ProtobufCMessage *parsed2 = NULL;
        FUZZ_CHECK(json_to_message(type, text2, strlen(text2), &parsed2,
                                   &err) == DOSSIER_OK,
                   "%s: its own JSON does not parse: %s", type->name,
                   err.message);
        char *text3 = json_from_message(parsed2, JSON_COMPACT);
        FUZZ_CHECK(text3 != NULL && strcmp(text2, text3) == 0,
                   "%s: JSON is not stable:\n%s\n%s", type->name, text2,
                   text3 ? text3 : "(null)");
        free(text3);
        protobuf_c_message_free_unpacked(parsed2, NULL);
        free(text2);
        protobuf_c_message_free_unpacked(parsed, NULL);
    }
    free(text);
    free(twice);
    protobuf_c_message_free_unpacked(again, NULL);
    free(once);
    protobuf_c_message_free_unpacked(m, NULL);
}

int
fuzz_dynpb_one(const uint8_t *data, size_t size) {
    dynpb_pool_t *pool = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc = dynpb_pool_new(data, size, &pool, &err);
    if (rc != DOSSIER_OK) {
        FUZZ_CHECK(pool == NULL, "a failed build set the pool");
        FUZZ_CHECK(rc == DOSSIER_INVALID_ARGUMENT ||
                       rc == DOSSIER_RESOURCE_EXHAUSTED,
                   "dynpb_pool_new returned %d", (int)rc);
        FUZZ_CHECK(err.message[0] != '\0', "an error without a message");
        return 0;
    }
    size_t n;
    const ProtobufCMessageDescriptor *const *types =
        dynpb_pool_messages(pool, &n);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(dynpb_pool_message(pool, types[i]->name) == types[i],
                   "%s is not found by its name", types[i]->name);
        if (i < FUZZ_DYNPB_TYPES) {
            s_dynpb_message(types[i], data, size);
        }
    }
    const dynpb_method_t *methods = dynpb_pool_methods(pool, &n);
    for (size_t i = 0; i < n; i++) {
        const dynpb_method_t *m = &methods[i];
        const dynpb_method_t *found =
            dynpb_pool_find_method(pool, m->full_name);
        /* Two services may declare one full name only if the set has
           duplicate services; the first one wins then. */
        FUZZ_CHECK(found != NULL && strcmp(found->full_name, m->full_name) == 0,
                   "method %s is not found by its name", m->full_name);
        FUZZ_CHECK(dynpb_pool_message(pool, m->input->name) == m->input &&
                       dynpb_pool_message(pool, m->output->name) == m->output,
                   "method %s: its types are not the pool's", m->full_name);
    }
    dynpb_pool_destroy(&pool);
    FUZZ_CHECK(pool == NULL, "destroy left the pointer");
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_dynpb_one(data, size);
}
#endif
