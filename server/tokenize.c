/*  tokenize.c: the one tokenizer of the full-text index and its queries.

    Index and query must cut text the same way or a term can never be
    found, so both go through tokenize_next. Each code point is decoded
    with text_utf8_decode (invalid bytes become U+FFFD, a separator), kept
    if it is a word code point, and folded into the term. A code point
    whose folded form would overflow TOKENIZE_MAX_TERM is dropped with the
    rest of the word, so a term is always whole UTF-8. */
#include "tokenize.h"

#include <string.h>

#include "text.h"

void
tokenize_init(tokenize_t *self, const char *text, size_t size,
              uint32_t first_position) {
    self->text = (const unsigned char *)text;
    self->size = text ? size : 0;
    self->offset = 0;
    self->position = first_position;
}

uint32_t
tokenize_position(const tokenize_t *self) {
    return self->position;
}

bool
tokenize_next(tokenize_t *self, token_t *token) {
    while (self->offset < self->size) {
        /* Skip separators. */
        uint32_t cp = 0;
        size_t start = self->offset;
        size_t n =
            text_utf8_decode(self->text + start, self->size - start, &cp);
        if (!text_is_word_codepoint(cp)) {
            self->offset += n;
            continue;
        }
        /* A word: fold code points until the next separator. */
        size_t len = 0;
        bool full = false;
        size_t end = start;
        while (end < self->size) {
            n = text_utf8_decode(self->text + end, self->size - end, &cp);
            if (!text_is_word_codepoint(cp)) {
                break;
            }
            end += n;
            if (full) {
                continue;
            }
            char folded[4];
            size_t f = text_fold_codepoint(cp, folded);
            if (len + f > TOKENIZE_MAX_TERM) {
                full = true;
                continue;
            }
            memcpy(token->term + len, folded, f);
            len += f;
        }
        self->offset = end;
        if (len == 0) {
            continue; /* only code points that fold to nothing */
        }
        token->term[len] = '\0';
        token->len = len;
        token->start = start;
        token->end = end;
        token->position = self->position++;
        return true;
    }
    return false;
}
