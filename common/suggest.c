/*  suggest.c: the one edit distance behind every "did you mean".

    Damerau-Levenshtein in its restricted form (optimal string alignment):
    the typos people make are a letter missed, doubled, wrong or two
    swapped ("Azerbijan", "--wokers", "yaer"), each one edit. Names are
    short, so three rows on the stack do. */
#include "suggest.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

static size_t
s_min3(size_t a, size_t b, size_t c) {
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t
suggest_distance(const char *a, const char *b) {
    if (a == NULL || b == NULL) {
        return SIZE_MAX;
    }
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN) {
        return SIZE_MAX;
    }
    size_t rows[3][SUGGEST_MAX_LEN + 1];
    size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        int ca = tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            cur[j] = s_min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb &&
                before[j - 2] + 1 < cur[j]) {
                cur[j] = before[j - 2] + 1;
            }
        }
        size_t *spare = before;
        before = prev;
        prev = cur;
        cur = spare;
    }
    return prev[lb];
}

void
suggest_init(suggest_t *s, const char *typed) {
    s->typed = typed;
    s->best = NULL;
    s->best_distance = SIZE_MAX;
}

void
suggest_consider(suggest_t *s, const char *candidate) {
    size_t d = suggest_distance(s->typed, candidate);
    if (d < s->best_distance) {
        s->best_distance = d;
        s->best = candidate;
    }
}

const char *
suggest_best(const suggest_t *s) {
    if (s->best == NULL) {
        return NULL;
    }
    size_t d = s->best_distance;
    size_t len = strlen(s->best);
    size_t allowed = 1 + len / 4;
    if (allowed > 3) {
        allowed = 3;
    }
    if (d == 0 || (d <= allowed && d * 2 < len)) {
        return s->best;
    }
    return NULL;
}
