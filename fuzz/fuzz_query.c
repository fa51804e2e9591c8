/*  fuzz_query.c: the search query parser and the tokenizer. See fuzz.h.

    SearchRequest.query comes straight from the network. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "store/fts/query.h"
#include "store/fts/tokenize.h"

static void
s_query_check_tokens(const uint8_t *data, size_t size) {
    tokenize_t tokenizer;
    tokenize_init(&tokenizer, (const char *)data, size, 0);
    token_t token;
    size_t last_end = 0;
    uint32_t count = 0;
    /* A token takes at least one byte, so there are at most size. */
    while (tokenize_next(&tokenizer, &token)) {
        FUZZ_CHECK(count <= size, "more tokens than bytes");
        FUZZ_CHECK(token.len >= 1 && token.len <= TOKENIZE_MAX_TERM &&
                       strlen(token.term) == token.len,
                   "token length %zu", token.len);
        FUZZ_CHECK(token.start >= last_end && token.start < token.end &&
                       token.end <= size,
                   "token [%zu, %zu) after %zu in %zu bytes", token.start,
                   token.end, last_end, size);
        FUZZ_CHECK(token.position == count, "position %u, expected %u",
                   token.position, count);
        last_end = token.end;
        count++;
    }
}

int
fuzz_query_one(const uint8_t *data, size_t size) {
    s_query_check_tokens(data, size);
    query_t *query = NULL;
    dossier_error_t err = {0};
    dossier_status_t rc = query_parse((const char *)data, size, &query, &err);
    if (rc != DOSSIER_OK) {
        FUZZ_CHECK(query == NULL, "a failed parse set the query");
        FUZZ_CHECK(rc == DOSSIER_INVALID_ARGUMENT ||
                       rc == DOSSIER_RESOURCE_EXHAUSTED,
                   "query_parse returned %d", (int)rc);
        FUZZ_CHECK(err.message[0] != '\0', "an error without a message");
        return 0;
    }
    FUZZ_CHECK(query != NULL, "OK without a query");
    FUZZ_CHECK(size <= QUERY_MAX_BYTES, "a %zu-byte query was accepted", size);
    FUZZ_CHECK(query->n_positive >= 1 && query->n_positive <= query->n_clauses,
               "%u positive of %u clauses", query->n_positive,
               query->n_clauses);
    uint32_t terms = 0;
    for (uint32_t c = 0; c < query->n_clauses; c++) {
        const query_clause_t *clause = &query->clauses[c];
        FUZZ_CHECK(clause->excluded == (c >= query->n_positive),
                   "clause %u out of order", c);
        FUZZ_CHECK(clause->n_terms >= 1, "clause %u has no term", c);
        for (uint32_t t = 0; t < clause->n_terms; t++) {
            const char *term = clause->terms[t];
            FUZZ_CHECK(term != NULL, "clause %u term %u is NULL", c, t);
            size_t len = strlen(term);
            FUZZ_CHECK(len >= 1 && len <= TOKENIZE_MAX_TERM,
                       "clause %u term %u has %zu bytes", c, t, len);
        }
        terms += clause->n_terms;
    }
    FUZZ_CHECK(terms <= QUERY_MAX_TERMS, "%u terms accepted", terms);
    query_destroy(&query);
    FUZZ_CHECK(query == NULL, "query_destroy left the pointer");
    return 0;
}

#ifdef DOSSIER_LIBFUZZER
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_query_one(data, size);
}
#endif
