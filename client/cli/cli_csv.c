/*  cli_csv.c: records as CSV for `dossier export --format csv`: RFC 4180
    (fields separated by commas, records by CRLF, a field quoted when it
    holds a comma, a double quote, CR or LF, its quotes doubled), UTF-8
    as stored, a header row of the field names, one row per record.

    Columns are Report's fields by their proto names (the names of
    `dossier export`'s JSON, in snake case), plus "body": the paragraphs
    joined by a blank line. A year or version of 0 is an empty cell; a
    tier is its display name ("Tier 2 Watch List"), empty when unknown. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "refworld.h"

/* The columns without --fields: what a spreadsheet of reports needs,
   without the long text (body, cite_as, disclaimer). */
static const char *const s_default_columns[] = {
    "id",           "title",
    "country",      "country_code",
    "year",         "tier",
    "doc_type",     "publisher",
    "author",       "publication_date",
    "last_updated", "source_url",
    "version",      "updated_at",
};

int
cli_csv_columns(const char *spec, cli_csv_columns_t *columns,
                const char **bad) {
    memset(columns, 0, sizeof *columns);
    if (!spec || !*spec) {
        for (size_t i = 0;
             i < sizeof s_default_columns / sizeof s_default_columns[0]; i++) {
            columns->fields[columns->n++] =
                protobuf_c_message_descriptor_get_field_by_name(
                    &dossier__v1__report__descriptor, s_default_columns[i]);
        }
        return 0;
    }
    size_t len = strlen(spec);
    if (len >= sizeof columns->spec) {
        *bad = spec;
        return -1;
    }
    memcpy(columns->spec, spec, len + 1);
    char *save = NULL;
    for (char *name = strtok_r(columns->spec, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ') {
            name++;
        }
        size_t n = strlen(name);
        while (n > 0 && name[n - 1] == ' ') {
            name[--n] = '\0';
        }
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name(
                &dossier__v1__report__descriptor, name);
        if (!field || columns->n == CLI_CSV_MAX_COLUMNS) {
            *bad = name;
            return -1;
        }
        columns->fields[columns->n++] = field;
    }
    if (columns->n == 0) {
        *bad = spec;
        return -1;
    }
    return 0;
}

/*  Writes one cell of n bytes, quoted when RFC 4180 requires it. */
static void
s_cell(FILE *out, const char *s, size_t n) {
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    }
    if (!quote) {
        fwrite(s, 1, n, out);
        return;
    }
    putc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            putc('"', out);
        }
        putc(s[i], out);
    }
    putc('"', out);
}

void
cli_csv_header(FILE *out, const cli_csv_columns_t *columns) {
    for (size_t i = 0; i < columns->n; i++) {
        if (i > 0) {
            putc(',', out);
        }
        s_cell(out, columns->fields[i]->name, strlen(columns->fields[i]->name));
    }
    fputs("\r\n", out);
}

/*  The cell of field in report. */
static void
s_field_cell(FILE *out, const Dossier__V1__Report *report,
             const ProtobufCFieldDescriptor *field) {
    const char *base = (const char *)report;
    const void *at = base + field->offset;
    char number[32];
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + field->quantifier_offset);
            char *const *items = *(char *const *const *)at;
            /* One cell: the paragraphs, a blank line between them. */
            size_t total = 0;
            for (size_t i = 0; i < n; i++) {
                total += strlen(items[i]) + 2;
            }
            char *joined = malloc(total + 1);
            if (!joined) {
                return;
            }
            size_t o = 0;
            for (size_t i = 0; i < n; i++) {
                if (i > 0) {
                    memcpy(joined + o, "\n\n", 2);
                    o += 2;
                }
                size_t len = strlen(items[i]);
                memcpy(joined + o, items[i], len);
                o += len;
            }
            s_cell(out, joined, o);
            free(joined);
        } else {
            const char *s = *(const char *const *)at;
            s_cell(out, s ? s : "", s ? strlen(s) : 0);
        }
        return;
    case PROTOBUF_C_TYPE_UINT32:
        if (*(const uint32_t *)at) {
            snprintf(number, sizeof number, "%u", *(const uint32_t *)at);
            fputs(number, out);
        }
        return;
    case PROTOBUF_C_TYPE_UINT64:
        if (*(const uint64_t *)at) {
            snprintf(number, sizeof number, "%llu",
                     (unsigned long long)*(const uint64_t *)at);
            fputs(number, out);
        }
        return;
    case PROTOBUF_C_TYPE_ENUM: {
        const char *name =
            refworld_tier_name((Dossier__V1__Tier)(*(const int *)at));
        s_cell(out, name, strlen(name));
        return;
    }
    default:
        return;
    }
}

void
cli_csv_row(FILE *out, const cli_csv_columns_t *columns,
            const Dossier__V1__Report *report) {
    for (size_t i = 0; i < columns->n; i++) {
        if (i > 0) {
            putc(',', out);
        }
        s_field_cell(out, report, columns->fields[i]);
    }
    fputs("\r\n", out);
}
