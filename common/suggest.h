/*  suggest.h: "did you mean" for every place a name is looked up (a verb,
    an option, a country, a method, a config key, a JSON field), so that
    each says the same thing by the same measure.

    A caller keeps a suggest_t on the stack, offers it each name it knows
    with suggest_consider, and asks suggest_best for the nearest one that
    is close enough to be a typo. Nothing is allocated. */
#ifndef DOSSIER_SUGGEST_H
#define DOSSIER_SUGGEST_H

#include <stddef.h>

/* The longest name compared; longer names are never suggested. */
#define SUGGEST_MAX_LEN 64

typedef struct {
    const char *typed;    /* borrowed: what the user wrote */
    const char *best;     /* borrowed: the nearest candidate so far */
    size_t best_distance; /* its distance */
} suggest_t;

/*  Edit distance (Levenshtein: insertions, deletions, substitutions, and
    a swap of two neighbours counts one) between a and b, ASCII letters
    compared without case. Returns SIZE_MAX when either is longer than
    SUGGEST_MAX_LEN bytes or NULL. */
size_t suggest_distance(const char *a, const char *b);

/*  Starts a search for the name nearest typed (borrowed until the last
    call on s). */
void suggest_init(suggest_t *s, const char *typed);

/*  Offers candidate (borrowed until the last call on s); the first of
    equally near candidates is kept. */
void suggest_consider(suggest_t *s, const char *candidate);

/*  The nearest candidate offered when it is close enough to be a typo of
    typed (at most 1 edit in 4 letters, 3 at most, and fewer than half of
    the candidate's letters), else NULL. Borrowed: it is the candidate as
    offered. An exact match (ignoring case) is returned too. */
const char *suggest_best(const suggest_t *s);

#endif
