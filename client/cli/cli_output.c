/*  cli_output.c: how the CLI shows things: tables cut to the terminal,
    readable records wrapped at 78 columns, and proto3 JSON lines.

    Widths count code points, which is right for the Latin, Cyrillic and
    Arabic text of country reports; a cut never splits a UTF-8 sequence. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "json.h"

#define S_RECORD_WIDTH 78

int
cli_term_width(void) {
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0) {
        return ws.ws_col;
    }
    const char *columns = getenv("COLUMNS");
    unsigned long long v;
    if (columns != NULL && cli_parse_uint(columns, 20, 10000, &v) == 0) {
        return (int)v;
    }
    return 0;
}

static bool
s_is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

size_t
cli_text_width(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        n += !s_is_continuation(*p);
    }
    return n;
}

size_t
cli_print_escaped(FILE *out, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t columns = 0;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\x%02x", *p);
            columns += 4;
        } else if (*p == '\\') {
            fputs("\\\\", out);
            columns += 2;
        } else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            fprintf(out, "\\u%04x", p[1]);
            columns += 6;
            p++;
        } else {
            fputc(*p, out);
            columns += s_is_continuation(*p) ? 0 : 1;
        }
    }
    return columns;
}

void
cli_print_cell(FILE *out, const char *s, size_t width, bool pad) {
    size_t w = cli_text_width(s);
    if (w <= width) {
        fputs(s, out);
        for (size_t i = w; pad && i < width; i++) {
            fputc(' ', out);
        }
        return;
    }
    if (width == 0) {
        return;
    }
    /* Keep width - 1 code points, then an ellipsis. */
    const unsigned char *p = (const unsigned char *)s;
    size_t seen = 0;
    size_t bytes = 0;
    while (p[bytes]) {
        if (!s_is_continuation(p[bytes])) {
            if (seen == width - 1) {
                break;
            }
            seen++;
        }
        bytes++;
    }
    fwrite(s, 1, bytes, out);
    fputs("…", out);
}

void
cli_print_wrapped(FILE *out, const char *text, size_t indent, size_t width) {
    size_t room = width > indent + 10 ? width - indent : 10;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        /* Take words while they fit; a word longer than the line goes on
           a line of its own. */
        const char *line = p;
        const char *end = p;
        size_t cols = 0;
        while (*p) {
            const char *word = p;
            size_t wcols = 0;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
                wcols += !s_is_continuation((unsigned char)*p);
                p++;
            }
            size_t need = cols == 0 ? wcols : cols + 1 + wcols;
            if (cols > 0 && need > room) {
                p = word;
                break;
            }
            cols = need;
            end = p;
            if (*p == '\n') {
                break;
            }
            while (*p == ' ' || *p == '\t') {
                p++;
            }
        }
        fprintf(out, "%*s%.*s\n", (int)indent, "", (int)(end - line), line);
    }
}

int
cli_print_json(const ProtobufCMessage *message) {
    char *json = json_from_message(message, JSON_COMPACT);
    if (json == NULL) {
        fprintf(stderr, "dossier: out of memory rendering JSON\n");
        return -1;
    }
    puts(json);
    free(json);
    return 0;
}

int
cli_show_json(const ProtobufCMessage *message) {
    return cli_print_json(message) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
}

const char *
cli_tier_short(Dossier__V1__Tier tier) {
    switch (tier) {
    case DOSSIER__V1__TIER__TIER_1:
        return "Tier 1";
    case DOSSIER__V1__TIER__TIER_2:
        return "Tier 2";
    case DOSSIER__V1__TIER__TIER_2_WATCH_LIST:
        return "Tier 2 WL";
    case DOSSIER__V1__TIER__TIER_3:
        return "Tier 3";
    case DOSSIER__V1__TIER__SPECIAL_CASE:
        return "Special";
    default:
        return "";
    }
}

static const char *
s_tier_long(Dossier__V1__Tier tier) {
    switch (tier) {
    case DOSSIER__V1__TIER__TIER_2_WATCH_LIST:
        return "Tier 2 Watch List";
    case DOSSIER__V1__TIER__SPECIAL_CASE:
        return "Special Case";
    default:
        return cli_tier_short(tier);
    }
}

int
cli_tier_parse(const char *text, Dossier__V1__Tier *tier) {
    static const struct {
        const char *name;
        Dossier__V1__Tier tier;
    } names[] = {
        {"1", DOSSIER__V1__TIER__TIER_1},
        {"2", DOSSIER__V1__TIER__TIER_2},
        {"2wl", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"3", DOSSIER__V1__TIER__TIER_3},
        {"special", DOSSIER__V1__TIER__SPECIAL_CASE},
        {"tier 1", DOSSIER__V1__TIER__TIER_1},
        {"tier 2", DOSSIER__V1__TIER__TIER_2},
        {"tier 2 watch list", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"tier 2 wl", DOSSIER__V1__TIER__TIER_2_WATCH_LIST},
        {"tier 3", DOSSIER__V1__TIER__TIER_3},
        {"special case", DOSSIER__V1__TIER__SPECIAL_CASE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *tier = names[i].tier;
            return 0;
        }
    }
    /* The enum's own names, as --json prints them. */
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
        &dossier__v1__tier__descriptor, text);
    if (v != NULL && v->value != DOSSIER__V1__TIER__TIER_UNSPECIFIED) {
        *tier = (Dossier__V1__Tier)v->value;
        return 0;
    }
    return -1;
}

static void
s_field(FILE *out, const char *label, const char *value) {
    if (value != NULL && *value != '\0') {
        fprintf(out, "%-12s %s\n", label, value);
    }
}

void
cli_print_record(FILE *out, const Dossier__V1__Report *r) {
    char buf[512];
    s_field(out, "id:", r->id);
    s_field(out, "title:", r->title);
    if (r->country_code && *r->country_code) {
        snprintf(buf, sizeof buf, "%s (%s)", r->country ? r->country : "",
                 r->country_code);
        s_field(out, "country:", buf);
    } else {
        s_field(out, "country:", r->country);
    }
    if (r->year != 0) {
        snprintf(buf, sizeof buf, "%u", r->year);
        s_field(out, "year:", buf);
    }
    if (r->tier != DOSSIER__V1__TIER__TIER_UNSPECIFIED) {
        if (r->tier_note && *r->tier_note) {
            snprintf(buf, sizeof buf, "%s; %s", s_tier_long(r->tier),
                     r->tier_note);
            s_field(out, "tier:", buf);
        } else {
            s_field(out, "tier:", s_tier_long(r->tier));
        }
    }
    s_field(out, "doc type:", r->doc_type);
    s_field(out, "publisher:", r->publisher);
    s_field(out, "author:", r->author);
    s_field(out, "published:", r->publication_date);
    s_field(out, "updated:", r->last_updated);
    s_field(out, "source:", r->source_url);
    s_field(out, "cite as:", r->cite_as);
    if (r->version != 0) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->version);
        s_field(out, "version:", buf);
    }
    if (r->created_at && *r->created_at) {
        snprintf(buf, sizeof buf, "%s by %s", r->created_at,
                 r->created_by && *r->created_by ? r->created_by : "?");
        s_field(out, "stored:", buf);
    }
    if (r->updated_at && *r->updated_at) {
        snprintf(buf, sizeof buf, "%s by %s", r->updated_at,
                 r->updated_by && *r->updated_by ? r->updated_by : "?");
        s_field(out, "changed:", buf);
    }
    for (size_t i = 0; i < r->n_body; i++) {
        fputc('\n', out);
        cli_print_wrapped(out, r->body[i], 0, S_RECORD_WIDTH);
    }
}

static const char *
s_or_empty(const char *s) {
    return s ? s : "";
}

void
cli_print_report_table(FILE *out, Dossier__V1__Report *const *reports,
                       size_t n) {
    size_t w_id = strlen("ID"), w_country = strlen("COUNTRY");
    size_t w_tier = strlen("TIER");
    for (size_t i = 0; i < n; i++) {
        size_t w = cli_text_width(s_or_empty(reports[i]->id));
        w_id = w > w_id ? w : w_id;
        w = cli_text_width(s_or_empty(reports[i]->country));
        w_country = w > w_country ? w : w_country;
        w = strlen(cli_tier_short(reports[i]->tier));
        w_tier = w > w_tier ? w : w_tier;
    }
    if (w_country > 24) {
        w_country = 24;
    }
    int term = cli_term_width();
    size_t fixed = w_id + 2 + 4 + 2 + w_country + 2 + w_tier + 2;
    /* No terminal: titles whole. A narrow one: at least 10 columns. */
    size_t w_title = (size_t)-1;
    if (term > 0) {
        w_title = (size_t)term > fixed + 10 ? (size_t)term - fixed : 10;
    }
    fprintf(out, "%-*s  %-4s  %-*s  %-*s  %s\n", (int)w_id, "ID", "YEAR",
            (int)w_country, "COUNTRY", (int)w_tier, "TIER", "TITLE");
    for (size_t i = 0; i < n; i++) {
        const Dossier__V1__Report *r = reports[i];
        cli_print_cell(out, s_or_empty(r->id), w_id, true);
        if (r->year != 0) {
            fprintf(out, "  %-4u  ", r->year);
        } else {
            fprintf(out, "  %-4s  ", "");
        }
        cli_print_cell(out, s_or_empty(r->country), w_country, true);
        fputs("  ", out);
        cli_print_cell(out, cli_tier_short(r->tier), w_tier, true);
        fputs("  ", out);
        cli_print_cell(out, s_or_empty(r->title), w_title, false);
        fputc('\n', out);
    }
}

const char *
cli_format_bytes(uint64_t bytes, char out[32]) {
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(out, 32, "%llu bytes", (unsigned long long)bytes);
        return out;
    }
    double value = (double)bytes;
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024;
        unit++;
    }
    /* Whole units without ".0": "16 MiB", "12.4 MiB". */
    if (value == (double)(uint64_t)value) {
        snprintf(out, 32, "%llu %s", (unsigned long long)value, units[unit]);
    } else {
        snprintf(out, 32, "%.1f %s", value, units[unit]);
    }
    return out;
}
