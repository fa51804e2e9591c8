/*  tokenize.c: the one tokenizer of the full-text index and its queries.

    Index and query must cut text the same way or a term can never be
    found, so both go through tokenize_next. Each code point is decoded
    with text_utf8_decode (invalid bytes become U+FFFD, a separator), kept
    if it is a word code point, and folded into the term. A code point
    whose folded form would overflow TOKENIZE_MAX_TERM is dropped with the
    rest of the word, so a term is always whole UTF-8. */
#include "tokenize.h"

#include <pthread.h>
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

/*  ASCII, the bulk of every report, without a call per byte: the folded
    byte of a word character, 0 for a separator. Built on first use from
    text_is_word_codepoint and text_fold_codepoint, so it cannot disagree
    with them. */
static unsigned char s_ascii[128];
static pthread_once_t s_ascii_once = PTHREAD_ONCE_INIT;

static void
s_ascii_init(void) {
    for (uint32_t c = 0; c < 128; c++) {
        char folded[4];
        if (text_is_word_codepoint(c) && text_fold_codepoint(c, folded) == 1) {
            s_ascii[c] = (unsigned char)folded[0];
        }
    }
}

bool
tokenize_next(tokenize_t *self, token_t *token) {
    pthread_once(&s_ascii_once, s_ascii_init);
    const unsigned char *text = self->text;
    size_t size = self->size;
    size_t offset = self->offset;
    while (offset < size) {
        /* Skip separators. */
        uint32_t cp = 0;
        size_t start = offset;
        size_t n;
        if (text[start] < 0x80) {
            if (!s_ascii[text[start]]) {
                offset++;
                continue;
            }
        } else {
            n = text_utf8_decode(text + start, size - start, &cp);
            if (!text_is_word_codepoint(cp)) {
                offset += n;
                continue;
            }
        }
        /* A word: fold code points until the next separator. */
        size_t len = 0;
        bool full = false;
        size_t end = start;
        while (end < size) {
            unsigned char c = text[end];
            if (c < 0x80) {
                unsigned char f = s_ascii[c];
                if (!f) {
                    break;
                }
                end++;
                if (len < TOKENIZE_MAX_TERM && !full) {
                    token->term[len++] = (char)f;
                } else {
                    full = true;
                }
                continue;
            }
            n = text_utf8_decode(text + end, size - end, &cp);
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
        offset = end;
        if (len == 0) {
            continue; /* only code points that fold to nothing */
        }
        self->offset = offset;
        token->term[len] = '\0';
        token->len = len;
        token->start = start;
        token->end = end;
        token->position = self->position++;
        return true;
    }
    self->offset = offset;
    return false;
}
