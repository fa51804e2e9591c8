/*  cli_versions.c: a record's history. `dossier log ID`: its versions,
    newest first (ListVersions), the current one and its deletion marked;
    `dossier diff ID [V1 [V2]]`: what changed between two versions (Get
    with a version): the metadata fields that differ, then the body
    paragraph by paragraph, as a line diff shows lines. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "refworld.h"

/* Pages of ListVersions that `log` follows, at most. */
#define S_MAX_PAGES 100000
#define S_LOG_PAGE 1000
/* Paragraph pairs compared by the longest-common-subsequence table;
   larger changes show the differing middle as removed, then added. */
#define S_DIFF_CELLS (4u * 1000 * 1000)
/* Unchanged paragraphs shown around a change. */
#define S_CONTEXT 1

/* ---- log ---- */

static int
s_log(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1) {
        return cli_usage_error(verb, "give exactly one ID");
    }
    dossier_client_t *client = NULL;
    rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    uint64_t before = 0;
    bool header = false;
    for (long page = 0; page < S_MAX_PAGES; page++) {
        Dossier__V1__ListVersionsResponse *resp = NULL;
        dossier_error_t err = {0};
        dossier_status_t st = dossier_list_versions(
            client, args.argv[0], S_LOG_PAGE, before, &resp, &err);
        if (st != DOSSIER_OK) {
            rc = cli_fail(&err);
            break;
        }
        for (size_t i = 0; i < resp->n_versions; i++) {
            const Dossier__V1__RecordVersion *v = resp->versions[i];
            if (g->json) {
                cli_print_json(&v->base);
                continue;
            }
            if (!header) {
                printf("%-8s %-24s %-16s %-12s %s\n", "VERSION", "TIME", "USER",
                       "SHA256", "TITLE");
                header = true;
            }
            printf("%-8llu %-24s %-16s %-12.12s ",
                   (unsigned long long)v->version, v->time, v->user,
                   v->source_sha256);
            if (v->deleted) {
                fputs("(deleted)\n", stdout);
                continue;
            }
            cli_print_escaped(stdout, v->title);
            fputs(v->current ? "  (current)\n" : "\n", stdout);
        }
        before = resp->next_before_version;
        dossier_message_free(resp);
        if (before == 0) {
            break;
        }
    }
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_log = {
    .name = "log",
    .summary = "the versions of one record",
    .usage = "usage: dossier log [--json] ID\n"
             "\n"
             "Lists the versions of the record with ID kept in its history, "
             "newest\n"
             "first: each with the time it was written, by whom, the SHA-256 "
             "of the\n"
             "text it was imported from and its title; \"(current)\" marks the "
             "stored\n"
             "record, \"(deleted)\" its deletion. A deleted record keeps its "
             "history\n"
             "(until the server's --history-keep drops it): `dossier get "
             "--version N`\n"
             "reads any version listed.\n",
    .run = s_log,
};

/* ---- diff ---- */

/*  A field's value as text, for the metadata lines (buf: scratch). */
static const char *
s_field_text(const Dossier__V1__Report *r, const ProtobufCFieldDescriptor *f,
             char *buf, size_t size) {
    const char *at = (const char *)r + f->offset;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)at;
        return s ? s : "";
    }
    case PROTOBUF_C_TYPE_UINT32:
        /* a year of 0 is no year */
        if (*(const uint32_t *)at == 0) {
            return "";
        }
        snprintf(buf, size, "%u", *(const uint32_t *)at);
        return buf;
    case PROTOBUF_C_TYPE_UINT64:
        snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)at);
        return buf;
    case PROTOBUF_C_TYPE_ENUM:
        return refworld_tier_name((Dossier__V1__Tier)(*(const int *)at));
    default:
        return "";
    }
}

/*  Fields that are the server's bookkeeping, not the document. */
static bool
s_bookkeeping(const char *name) {
    static const char *const names[] = {"version",    "created_at",
                                        "updated_at", "created_by",
                                        "updated_by", "body"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/*  Prints the metadata fields that differ; returns how many. */
static size_t
s_diff_fields(const Dossier__V1__Report *a, const Dossier__V1__Report *b) {
    const ProtobufCMessageDescriptor *d = &dossier__v1__report__descriptor;
    size_t changed = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (s_bookkeeping(f->name) || f->label == PROTOBUF_C_LABEL_REPEATED) {
            continue;
        }
        char ba[32], bb[32];
        const char *va = s_field_text(a, f, ba, sizeof ba);
        const char *vb = s_field_text(b, f, bb, sizeof bb);
        if (strcmp(va, vb) == 0) {
            continue;
        }
        printf("%s: \"", f->name);
        cli_print_escaped(stdout, va);
        fputs("\" -> \"", stdout);
        cli_print_escaped(stdout, vb);
        fputs("\"\n", stdout);
        changed++;
    }
    return changed;
}

/* One line of the body's diff: ' ' kept, '-' removed, '+' added. */
typedef struct {
    char op;
    const char *text;
    size_t a, b; /* paragraph numbers, from 1, in each version */
} s_edit_t;

/*  The edits turning paragraphs a[0..n) into b[0..m): the common prefix
    and suffix, and between them the longest common subsequence when the
    table fits in S_DIFF_CELLS, else all removed then all added. *edits_p
    is malloc'd (the caller frees); returns the count, or -1 when out of
    memory. */
static long
s_diff_paragraphs(char *const *a, size_t n, char *const *b, size_t m,
                  s_edit_t **edits_p) {
    s_edit_t *edits = malloc((n + m + 1) * sizeof *edits);
    if (!edits) {
        return -1;
    }
    size_t k = 0, pre = 0, suf = 0;
    while (pre < n && pre < m && strcmp(a[pre], b[pre]) == 0) {
        pre++;
    }
    while (suf < n - pre && suf < m - pre &&
           strcmp(a[n - 1 - suf], b[m - 1 - suf]) == 0) {
        suf++;
    }
    for (size_t i = 0; i < pre; i++) {
        edits[k++] = (s_edit_t){' ', a[i], i + 1, i + 1};
    }
    size_t n2 = n - pre - suf, m2 = m - pre - suf;
    uint32_t *table = NULL;
    if (n2 > 0 && m2 > 0 && (n2 + 1) * (m2 + 1) <= S_DIFF_CELLS) {
        table = calloc((n2 + 1) * (m2 + 1), sizeof *table);
    }
    if (table) {
        /* table[i][j]: the LCS of a[pre+i..] and b[pre+j..] */
        size_t w = m2 + 1;
        for (size_t i = n2; i-- > 0;) {
            for (size_t j = m2; j-- > 0;) {
                table[i * w + j] =
                    strcmp(a[pre + i], b[pre + j]) == 0
                        ? table[(i + 1) * w + j + 1] + 1
                    : table[(i + 1) * w + j] > table[i * w + j + 1]
                        ? table[(i + 1) * w + j]
                        : table[i * w + j + 1];
            }
        }
        size_t i = 0, j = 0;
        while (i < n2 || j < m2) {
            if (i < n2 && j < m2 && strcmp(a[pre + i], b[pre + j]) == 0) {
                edits[k++] =
                    (s_edit_t){' ', a[pre + i], pre + i + 1, pre + j + 1};
                i++;
                j++;
            } else if (j < m2 && (i == n2 || table[i * w + j + 1] >=
                                                 table[(i + 1) * w + j])) {
                edits[k++] = (s_edit_t){'+', b[pre + j], 0, pre + j + 1};
                j++;
            } else {
                edits[k++] = (s_edit_t){'-', a[pre + i], pre + i + 1, 0};
                i++;
            }
        }
        free(table);
    } else {
        for (size_t i = 0; i < n2; i++) {
            edits[k++] = (s_edit_t){'-', a[pre + i], pre + i + 1, 0};
        }
        for (size_t j = 0; j < m2; j++) {
            edits[k++] = (s_edit_t){'+', b[pre + j], 0, pre + j + 1};
        }
    }
    for (size_t i = 0; i < suf; i++) {
        edits[k++] =
            (s_edit_t){' ', a[n - suf + i], n - suf + i + 1, m - suf + i + 1};
    }
    *edits_p = edits;
    return (long)k;
}

/*  Prints the body's edits: each change with S_CONTEXT unchanged
    paragraphs around it, longer unchanged runs summarized. */
static void
s_print_edits(const s_edit_t *edits, size_t k) {
    size_t added = 0, removed = 0;
    for (size_t i = 0; i < k; i++) {
        added += edits[i].op == '+';
        removed += edits[i].op == '-';
    }
    if (added == 0 && removed == 0) {
        printf("body: unchanged (%zu paragraphs)\n", k);
        return;
    }
    printf("body: %zu paragraph%s removed, %zu added, %zu unchanged\n", removed,
           removed == 1 ? "" : "s", added, k - added - removed);
    size_t skipped = 0;
    for (size_t i = 0; i < k; i++) {
        bool near = edits[i].op != ' ';
        for (size_t d = 1; !near && d <= S_CONTEXT; d++) {
            near = (i >= d && edits[i - d].op != ' ') ||
                   (i + d < k && edits[i + d].op != ' ');
        }
        if (!near) {
            skipped++;
            continue;
        }
        if (skipped) {
            printf("  ... %zu unchanged paragraph%s ...\n", skipped,
                   skipped == 1 ? "" : "s");
            skipped = 0;
        }
        printf("%c ", edits[i].op);
        cli_print_escaped(stdout, edits[i].text);
        fputc('\n', stdout);
    }
    if (skipped) {
        printf("  ... %zu unchanged paragraph%s ...\n", skipped,
               skipped == 1 ? "" : "s");
    }
}

/*  The two newest versions of id that are not deletions, from its log:
 *older and *newer (0 when there is none). */
static dossier_status_t
s_latest_two(dossier_client_t *client, const char *id, uint64_t *older,
             uint64_t *newer, dossier_error_t *err) {
    *older = *newer = 0;
    Dossier__V1__ListVersionsResponse *resp = NULL;
    dossier_status_t st = dossier_list_versions(client, id, 100, 0, &resp, err);
    if (st != DOSSIER_OK) {
        return st;
    }
    for (size_t i = 0; i < resp->n_versions && !*older; i++) {
        const Dossier__V1__RecordVersion *v = resp->versions[i];
        if (v->deleted) {
            continue;
        }
        if (!*newer) {
            *newer = v->version;
        } else {
            *older = v->version;
        }
    }
    dossier_message_free(resp);
    return DOSSIER_OK;
}

static int
s_diff(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc < 1 || args.argc > 3) {
        return cli_usage_error(verb, "give an ID and at most two versions");
    }
    uint64_t versions[2] = {0, 0};
    for (int i = 1; i < args.argc; i++) {
        unsigned long long v;
        if (cli_parse_uint(args.argv[i], 1, UINT64_MAX, &v) != 0) {
            return cli_usage_error(verb,
                                   "'%s' is not a version number (see "
                                   "`dossier log %s`)",
                                   args.argv[i], args.argv[0]);
        }
        versions[i - 1] = v;
    }
    const char *id = args.argv[0];
    dossier_client_t *client = NULL;
    rc = cli_connect(g, 0, &client);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    dossier_error_t err = {0};
    Dossier__V1__Report *a = NULL, *b = NULL;
    dossier_status_t st = DOSSIER_OK;
    if (args.argc == 1) {
        st = s_latest_two(client, id, &versions[0], &versions[1], &err);
        if (st == DOSSIER_OK && versions[0] == 0) {
            fprintf(stderr,
                    "dossier: %s has one version only: nothing to compare\n",
                    id);
            dossier_client_destroy(&client);
            return CLI_EXIT_REFUSED;
        }
    }
    if (st == DOSSIER_OK) {
        st = dossier_get_version(client, id, versions[0], &a, &err);
    }
    if (st == DOSSIER_OK) {
        /* With one version given, the other is the current one. */
        st = dossier_get_version(client, id, versions[1], &b, &err);
    }
    if (st != DOSSIER_OK) {
        rc = cli_fail(&err);
        dossier_report_free(a);
        dossier_client_destroy(&client);
        return rc;
    }
    printf("--- %s version %llu (%s, %s)\n", id, (unsigned long long)a->version,
           a->updated_at, a->updated_by);
    printf("+++ %s version %llu (%s, %s)\n", id, (unsigned long long)b->version,
           b->updated_at, b->updated_by);
    s_diff_fields(a, b);
    s_edit_t *edits = NULL;
    long k = s_diff_paragraphs(a->body, a->n_body, b->body, b->n_body, &edits);
    if (k < 0) {
        fprintf(stderr, "dossier: out of memory\n");
        rc = CLI_EXIT_REFUSED;
    } else {
        s_print_edits(edits, (size_t)k);
    }
    free(edits);
    dossier_report_free(a);
    dossier_report_free(b);
    dossier_client_destroy(&client);
    return rc;
}

const cli_verb_t cli_verb_diff = {
    .name = "diff",
    .summary = "what changed between two versions of a record",
    .usage = "usage: dossier diff ID [V1 [V2]]\n"
             "\n"
             "Compares two versions of the record with ID (`dossier log ID` "
             "lists\n"
             "them): without versions, the two newest; with V1 alone, V1 and "
             "the\n"
             "current one. Prints each metadata field that differs (FIELD: "
             "\"old\" ->\n"
             "\"new\"), then the body paragraph by paragraph: \"- \" removed, "
             "\"+ \" added,\n"
             "unchanged ones around a change, longer unchanged runs counted.\n",
    .run = s_diff,
};
