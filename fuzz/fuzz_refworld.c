/*  fuzz_refworld.c: refworld_parse on arbitrary bytes. See fuzz.h.

    The parser reads files users import: any bytes must give either a
    report or DOSSIER_INVALID_ARGUMENT with a message, never a crash, and
    a report must keep the header's promises (every string valid UTF-8
    without NULs, an id of 1..128 bytes of [A-Za-z0-9._:-], at most 32
    warnings, the server-set fields empty). */
#include <stdbool.h>
#include <string.h>

#include "dossier/v1/report.pb-c.h"
#include "fuzz.h"
#include "refworld.h"
#include "text.h"

static bool
s_rw_id_ok(const char *id) {
    size_t len = strlen(id);
    if (len < 1 || len > 128) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
                  c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/*  Every string field of the report, through the descriptor, so a field
    added later is checked too. */
static void
s_rw_check_strings(const Dossier__V1__Report *report) {
    const ProtobufCMessageDescriptor *desc = report->base.descriptor;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_STRING) {
            continue;
        }
        const char *base = (const char *)report;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + field->quantifier_offset);
            char *const *values = *(char *const *const *)(base + field->offset);
            for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(values[i] != NULL, "%s[%zu] is NULL", field->name,
                           i);
                FUZZ_CHECK(text_utf8_valid(values[i], strlen(values[i])),
                           "%s[%zu] is not clean UTF-8", field->name, i);
            }
        } else {
            const char *value = *(const char *const *)(base + field->offset);
            FUZZ_CHECK(value != NULL, "%s is NULL", field->name);
            FUZZ_CHECK(text_utf8_valid(value, strlen(value)),
                       "%s is not clean UTF-8: %s", field->name, value);
        }
    }
}

int
fuzz_refworld_one(const uint8_t *data, size_t size) {
    refworld_result_t result;
    memset(&result, 0, sizeof result);
    dossier_error_t err = {0};
    dossier_status_t rc =
        refworld_parse((const char *)data, size, "fuzz.txt", &result, &err);
    if (rc != DOSSIER_OK) {
        FUZZ_CHECK(rc == DOSSIER_INVALID_ARGUMENT ||
                       rc == DOSSIER_RESOURCE_EXHAUSTED,
                   "refworld_parse returned %d", (int)rc);
        FUZZ_CHECK(err.message[0] != '\0', "an error without a message");
        return 0;
    }
    const Dossier__V1__Report *report = result.report;
    FUZZ_CHECK(report != NULL, "OK without a report");
    FUZZ_CHECK(result.n_warnings <= 32, "%zu warnings", result.n_warnings);
    for (size_t i = 0; i < result.n_warnings; i++) {
        FUZZ_CHECK(
            result.warnings[i] &&
                text_utf8_valid(result.warnings[i], strlen(result.warnings[i])),
            "warning %zu is not clean UTF-8", i);
    }
    s_rw_check_strings(report);
    FUZZ_CHECK(s_rw_id_ok(report->id), "bad id \"%s\"", report->id);
    FUZZ_CHECK(report->version == 0 && !report->created_at[0] &&
                   !report->updated_at[0] && !report->created_by[0] &&
                   !report->updated_by[0],
               "server-set fields are filled");
    FUZZ_CHECK(strlen(report->source_sha256) == 64,
               "source_sha256 \"%s\" is not 64 hex digits",
               report->source_sha256);

    /* The report survives the wire. */
    size_t packed_size = dossier__v1__report__get_packed_size(report);
    uint8_t *packed = malloc(packed_size + 1);
    FUZZ_CHECK(packed != NULL, "out of memory");
    FUZZ_CHECK(dossier__v1__report__pack(report, packed) == packed_size,
               "pack size disagrees");
    Dossier__V1__Report *again =
        dossier__v1__report__unpack(NULL, packed_size, packed);
    FUZZ_CHECK(again != NULL, "the packed report does not unpack");
    FUZZ_CHECK(strcmp(again->id, report->id) == 0 &&
                   again->n_body == report->n_body,
               "the unpacked report differs");
    dossier__v1__report__free_unpacked(again, NULL);
    free(packed);
    refworld_result_free(&result);
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_refworld_one(data, size);
}
#endif
