/*  fuzz_json.c: json_to_message / json_from_message round trips. See
    fuzz.h.

    JSON reaches the server from the CLI and the Python client, and the
    CLI prints what it got: parsing must refuse bad text with a message
    and never crash, and whatever parses must render and parse back to
    the same message (compared as packed bytes, which protobuf-c writes
    in field order, so equal messages give equal bytes). */
#include <stdbool.h>
#include <string.h>

#include "dossier/v1/report.pb-c.h"
#include "dossier/v1/reports.pb-c.h"
#include "dossier/v1/rpc.pb-c.h"
#include "fuzz.h"
#include "json.h"
#include "json_internal.h" /* json_to_message_slow */

static const ProtobufCMessageDescriptor *
s_json_type(uint8_t selector) {
    switch (selector % 4) {
    case 0:
        return &dossier__v1__report__descriptor;
    case 1:
        return &dossier__v1__put_request__descriptor;
    case 2:
        return &dossier__v1__search_request__descriptor;
    default:
        return &dossier__v1__request__descriptor;
    }
}

/*  The packed bytes of message; the caller frees. */
static uint8_t *
s_json_pack(const ProtobufCMessage *message, size_t *size_p) {
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *packed = malloc(size + 1);
    FUZZ_CHECK(packed != NULL, "out of memory");
    FUZZ_CHECK(protobuf_c_message_pack(message, packed) == size,
               "pack size disagrees");
    *size_p = size;
    return packed;
}

/*  Renders message with flags, parses it back and compares the packing
    with want. */
static void
s_json_round_trip(const ProtobufCMessage *message, int flags,
                  const uint8_t *want, size_t want_size) {
    char *text = json_from_message(message, flags);
    FUZZ_CHECK(text != NULL, "json_from_message failed");
    ProtobufCMessage *again = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        json_to_message(message->descriptor, text, strlen(text), &again, &err);
    FUZZ_CHECK(rc == DOSSIER_OK, "%s does not parse its own JSON: %s\n%s",
               message->descriptor->name, err.message, text);
    size_t size = 0;
    uint8_t *packed = s_json_pack(again, &size);
    FUZZ_CHECK(size == want_size && memcmp(packed, want, size) == 0,
               "%s: the round trip changed the message (%zu -> %zu packed "
               "bytes)\n%s",
               message->descriptor->name, want_size, size, text);
    free(packed);
    protobuf_c_message_free_unpacked(again, NULL);
    free(text);
}

int
fuzz_json_one(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    const ProtobufCMessageDescriptor *type = s_json_type(data[0]);
    ProtobufCMessage *message = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc =
        json_to_message(type, (const char *)data + 1, size - 1, &message, &err);
    /* The fast path (json_fast.c) takes or declines; either way the
       result is the jansson path's, error message included. */
    ProtobufCMessage *slow = NULL;
    dossier_error_t slow_err = {0};
    dossier_status_t slow_rc = json_to_message_slow(
        type, (const char *)data + 1, size - 1, &slow, &slow_err);
    FUZZ_CHECK(rc == slow_rc && strcmp(err.message, slow_err.message) == 0,
               "json_to_message: %d \"%s\"; the jansson path: %d \"%s\"",
               (int)rc, err.message, (int)slow_rc, slow_err.message);
    if (slow != NULL) {
        size_t fast_size = 0, slow_size = 0;
        uint8_t *fast_packed = s_json_pack(message, &fast_size);
        uint8_t *slow_packed = s_json_pack(slow, &slow_size);
        FUZZ_CHECK(fast_size == slow_size &&
                       memcmp(fast_packed, slow_packed, fast_size) == 0,
                   "%s: the fast path built another message", type->name);
        free(fast_packed);
        free(slow_packed);
        protobuf_c_message_free_unpacked(slow, NULL);
    }
    if (rc != DOSSIER_OK) {
        FUZZ_CHECK(message == NULL, "a failed parse set the message");
        FUZZ_CHECK(rc == DOSSIER_INVALID_ARGUMENT ||
                       rc == DOSSIER_RESOURCE_EXHAUSTED,
                   "json_to_message returned %d", (int)rc);
        FUZZ_CHECK(err.message[0] != '\0', "an error without a message");
        return 0;
    }
    FUZZ_CHECK(message != NULL && message->descriptor == type,
               "OK without a message of the type asked for");
    size_t packed_size = 0;
    uint8_t *packed = s_json_pack(message, &packed_size);
    /* The packed message must unpack (protobuf-c refuses what it cannot
       read back, so a parse must never build such a message). */
    ProtobufCMessage *unpacked =
        protobuf_c_message_unpack(type, NULL, packed_size, packed);
    FUZZ_CHECK(unpacked != NULL, "%s: the parsed message does not unpack",
               type->name);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    s_json_round_trip(message, JSON_COMPACT, packed, packed_size);
    s_json_round_trip(message, JSON_PRETTY, packed, packed_size);
    free(packed);
    protobuf_c_message_free_unpacked(message, NULL);
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_json_one(data, size);
}
#endif
