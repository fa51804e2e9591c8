/*  tokenize.h: splits UTF-8 text into folded search terms.

    A term is a maximal run of word code points (text_is_word_codepoint),
    each folded with text_fold_codepoint, so "Côte" and "COTE" both give
    "cote". Everything else separates terms, apostrophes included:
    "d'Ivoire" gives "d" and "ivoire" at index and at query time alike, so
    "cote d'ivoire" finds "Côte d'Ivoire". Invalid UTF-8 decodes to U+FFFD,
    which is not a word code point: it separates terms and never reaches
    one. A term longer than TOKENIZE_MAX_TERM bytes is cut at a code point
    boundary to its first TOKENIZE_MAX_TERM bytes (the same cut at index
    and query time). The tokenizer never allocates. */
#ifndef DOSSIER_TOKENIZE_H
#define DOSSIER_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest term kept, in bytes of folded UTF-8. */
#define TOKENIZE_MAX_TERM 64

typedef struct {
    /* The folded term, NUL-terminated; len bytes, 1..TOKENIZE_MAX_TERM. */
    char term[TOKENIZE_MAX_TERM + 1];
    size_t len;
    /* The term's first 8 bytes as a big-endian number, 0-padded: it
       orders as the terms' first bytes do, and two terms of at most 8
       bytes (no term holds a NUL) are equal exactly when their lengths
       and prefixes are. Comes from the fold, where the bytes are at hand,
       so a term table need not read them back. */
    uint64_t prefix;
    /* Where the term's source text lies: bytes [start, end) of the input. */
    size_t start;
    size_t end;
    /* Ordinal of the term in the input, counting from the first_position
       given to tokenize_init. */
    uint32_t position;
} token_t;

/*  The state of one pass over a text; a plain value the caller owns
    (usually on the stack). Its fields are private. */
typedef struct {
    const unsigned char *text;
    size_t size;
    size_t offset;
    uint32_t position;
} tokenize_t;

/*  Starts a pass over size bytes of text (borrowed for the whole pass; may
    hold NULs and invalid UTF-8; NULL only with size 0). Terms are
    numbered from first_position. */
void tokenize_init(tokenize_t *self, const char *text, size_t size,
                   uint32_t first_position);

/*  Reads the next term into *token. Returns false (leaving *token
    unspecified) when the text holds no more terms. */
bool tokenize_next(tokenize_t *self, token_t *token);

/*  The position the next term would get: first_position plus the number
    of terms read so far. */
uint32_t tokenize_position(const tokenize_t *self);

/*  Folds the size bytes at text into out (room for size bytes) as the
    tokenizer folds ASCII: a word byte ([0-9A-Za-z]) to its folded byte,
    any other to 0. Returns false, out unspecified, when text is not all
    ASCII. In all-ASCII text the tokens are then exactly the maximal runs
    of non-zero bytes of out (each cut to TOKENIZE_MAX_TERM bytes): a
    scan that needs only where terms are can search out instead of
    calling tokenize_next per token. */
bool tokenize_fold_ascii(const char *text, size_t size, char *out);

#endif
