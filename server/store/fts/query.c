/*  query.c: the search query parser.

    One left-to-right pass: find the extent of each clause (a quoted run
    or a run of non-blank bytes), note a leading '-', and hand the clause's
    bytes to the tokenizer. Quotes are ASCII '"' only; a quote that opens
    inside a word ("abc"def") starts a phrase there, as most search boxes
    do. */
#include "store/fts/query.h"

#include <stdlib.h>
#include <string.h>

static bool
s_is_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static void
s_clause_free(query_clause_t *clause) {
    for (uint32_t i = 0; i < clause->n_terms; i++) {
        free(clause->terms[i]);
    }
    free(clause->terms);
    clause->terms = NULL;
    clause->n_terms = 0;
}

void
query_destroy(query_t **query_p) {
    if (!query_p || !*query_p) {
        return;
    }
    query_t *self = *query_p;
    for (uint32_t i = 0; i < self->n_clauses; i++) {
        s_clause_free(&self->clauses[i]);
    }
    free(self->clauses);
    free(self);
    *query_p = NULL;
}

/*  Tokenizes size bytes of text into a new clause appended to self.
 *total counts the terms of the whole query. */
static dossier_status_t
s_add_clause(query_t *self, const char *text, size_t size, bool excluded,
             uint32_t *total, dossier_error_t *err) {
    tokenize_t tok;
    token_t token;
    query_clause_t clause = {NULL, 0, excluded};
    tokenize_init(&tok, text, size, 0);
    while (tokenize_next(&tok, &token)) {
        if (*total >= QUERY_MAX_TERMS) {
            s_clause_free(&clause);
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "query has more than %d terms",
                                     QUERY_MAX_TERMS);
        }
        char **terms =
            realloc(clause.terms, (clause.n_terms + 1) * sizeof(char *));
        if (!terms) {
            goto out_of_memory;
        }
        clause.terms = terms;
        clause.terms[clause.n_terms] = strdup(token.term);
        if (!clause.terms[clause.n_terms]) {
            goto out_of_memory;
        }
        clause.n_terms++;
        (*total)++;
    }
    if (clause.n_terms == 0) {
        return DOSSIER_OK; /* punctuation only: nothing to match */
    }
    query_clause_t *clauses =
        realloc(self->clauses, (self->n_clauses + 1) * sizeof(*clauses));
    if (!clauses) {
        goto out_of_memory;
    }
    self->clauses = clauses;
    self->clauses[self->n_clauses++] = clause;
    return DOSSIER_OK;

out_of_memory:
    s_clause_free(&clause);
    return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                             "out of memory parsing the query");
}

/*  Orders positive clauses first, keeping their relative order. */
static void
s_partition(query_t *self) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < self->n_clauses; i++) {
        if (!self->clauses[i].excluded) {
            query_clause_t c = self->clauses[i];
            memmove(&self->clauses[n + 1], &self->clauses[n],
                    (i - n) * sizeof(c));
            self->clauses[n++] = c;
        }
    }
    self->n_positive = n;
}

dossier_status_t
query_parse(const char *text, size_t size, query_t **query_p,
            dossier_error_t *err) {
    if (!text) {
        size = 0;
    }
    if (size > QUERY_MAX_BYTES) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "query is %zu bytes, more than %d", size,
                                 QUERY_MAX_BYTES);
    }
    query_t *self = calloc(1, sizeof(*self));
    if (!self) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory parsing the query");
    }
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    uint32_t total = 0;
    dossier_status_t rc = DOSSIER_OK;
    while (i < size) {
        if (s_is_blank(s[i])) {
            i++;
            continue;
        }
        bool excluded = false;
        if (s[i] == '-') {
            excluded = true;
            i++;
        }
        size_t start = i;
        size_t end = i;
        if (i < size && s[i] == '"') {
            start = i + 1;
            const unsigned char *close = memchr(s + start, '"', size - start);
            if (!close) {
                rc = dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                       "unterminated quote at byte %zu of "
                                       "the query",
                                       i);
                goto failed;
            }
            end = (size_t)(close - s);
            i = end + 1;
        } else {
            while (end < size && !s_is_blank(s[end]) && s[end] != '"') {
                end++;
            }
            i = end;
        }
        rc = s_add_clause(self, text + start, end - start, excluded, &total,
                          err);
        if (rc != DOSSIER_OK) {
            goto failed;
        }
    }
    s_partition(self);
    if (self->n_positive == 0) {
        rc = dossier_error_set(
            err, DOSSIER_INVALID_ARGUMENT,
            self->n_clauses ? "query has only excluded terms: give at least "
                              "one term to look for"
                            : "query has no terms to look for");
        goto failed;
    }
    *query_p = self;
    return DOSSIER_OK;

failed:
    query_destroy(&self);
    return rc;
}
