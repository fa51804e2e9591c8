/*  tokenize.c: the one tokenizer of the full-text index and its queries.

    Index and query must cut text the same way or a term can never be
    found, so both go through tokenize_next. Each code point is decoded
    with text_utf8_decode (invalid bytes become U+FFFD, a separator), kept
    if it is a word code point, and folded into the term. A code point
    whose folded form would overflow TOKENIZE_MAX_TERM is dropped with the
    rest of the word, so a term is always whole UTF-8. Runs of ASCII
    letters and digits, nearly all of a report, are read 8 bytes at a
    time: one branch per word instead of one per byte. */
#include "store/fts/tokenize.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "bytes8.h"
#include "text.h"

static void s_ascii_init(void);
static pthread_once_t s_ascii_once = PTHREAD_ONCE_INIT;

void
tokenize_init(tokenize_t *self, const char *text, size_t size,
              uint32_t first_position) {
    /* here, not per term: every pass starts with this call */
    pthread_once(&s_ascii_once, s_ascii_init);
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

/* 8 bytes at a time (little-endian machines): a word's ASCII letters and
   digits are found and folded with s_word8, which hard-codes what s_ascii
   holds today ([0-9A-Za-z] word bytes, A-Z folded to a-z); s_ascii_init
   turns it off should s_ascii ever say otherwise. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define S_WORDWISE 1
#else
#define S_WORDWISE 0
#endif
static bool s_wordwise;

/*  The high bit of each byte b of w with lo < b < hi, b < 0x80, exactly
    (no carry crosses bytes); lo and hi at most 0x80. */
static uint64_t
s_between(uint64_t w, uint64_t lo, uint64_t hi) {
    uint64_t low7 = w & BYTES8_LOW7;
    return (BYTES8_ONES * (127 + hi) - low7) & ~w &
           (low7 + BYTES8_ONES * (127 - lo)) & BYTES8_HIGHS;
}

/*  Of the 8 bytes of w (the first in the low byte), how many in a row
    from the first are ASCII letters or digits (0..8); writes their folded
    form (and bytes to ignore after them) to *folded. */
static unsigned
s_word8(uint64_t w, uint64_t *folded) {
    uint64_t alpha = s_between(w | BYTES8_ONES * 0x20, 0x60, 0x7B);
    uint64_t digit = s_between(w, 0x2F, 0x3A);
    uint64_t stop = ~(alpha | digit) & BYTES8_HIGHS;
    *folded = w | (alpha >> 2); /* 0x80 >> 2: the lower-case bit */
    return stop ? (unsigned)__builtin_ctzll(stop) / 8 : 8;
}

static void
s_ascii_init(void) {
    bool agree = true;
    for (uint32_t c = 0; c < 128; c++) {
        char folded[4];
        if (text_is_word_codepoint(c) && text_fold_codepoint(c, folded) == 1) {
            s_ascii[c] = (unsigned char)folded[0];
        }
        uint64_t f;
        unsigned n = s_word8(c, &f); /* c, then seven NULs */
        agree &= n == (s_ascii[c] != 0) && (!n || (f & 0xFF) == s_ascii[c]);
    }
    s_wordwise = S_WORDWISE && agree;
}

/*  token_t.prefix of a term whose first k bytes (1..8) are the low bytes
    of w, from a word-wise step (little-endian only). */
static uint64_t
s_prefix8(uint64_t w, unsigned k) {
    uint64_t kept = k == 8 ? w : w & ((1ull << (8 * k)) - 1);
    return __builtin_bswap64(kept);
}

/*  token_t.prefix of the len bytes at term, read back byte by byte. */
static uint64_t
s_prefix(const char *term, size_t len) {
    uint64_t prefix = 0;
    for (size_t k = 0; k < 8; k++) {
        prefix = prefix << 8 | (k < len ? (uint8_t)term[k] : 0);
    }
    return prefix;
}

bool
tokenize_next(tokenize_t *self, token_t *token) {
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
        /* The word's first 8 folded bytes and how many of them are the
           term's, when they came from one word-wise step. */
        uint64_t first8 = 0;
        unsigned first_k = 0;
        while (end < size) {
            unsigned char c = text[end];
            if (c < 0x80 && s_wordwise && size - end >= 8 &&
                len + 8 <= TOKENIZE_MAX_TERM && !full) {
                uint64_t folded;
                unsigned k = s_word8(bytes8_load(text + end), &folded);
                if (k == 0) {
                    break; /* an ASCII separator */
                }
                if (len == 0) {
                    first8 = folded;
                    first_k = k;
                }
                /* term has room for 8 more: len + 8 <= TOKENIZE_MAX_TERM */
                memcpy(token->term + len, &folded, sizeof(folded));
                len += k;
                end += k;
                if (k < 8 && text[end] < 0x80) {
                    break;
                }
                continue; /* 8 more, or a non-ASCII byte */
            }
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
        token->prefix = first_k == 8 || (first_k && first_k == len)
                            ? s_prefix8(first8, first_k)
                            : s_prefix(token->term, len);
        token->start = start;
        token->end = end;
        token->position = self->position++;
        return true;
    }
    self->offset = offset;
    return false;
}

bool
tokenize_fold_ascii(const char *text, size_t size, char *out) {
    pthread_once(&s_ascii_once, s_ascii_init);
    const unsigned char *in = (const unsigned char *)text;
    uint64_t high = 0;
    size_t i = 0;
    /* 8 bytes at a time as s_word8 classifies them: letters and digits
       kept (letters lower-cased), the rest 0. */
    for (; s_wordwise && i + 8 <= size; i += 8) {
        uint64_t w = bytes8_load(in + i);
        high |= w;
        uint64_t alpha = s_between(w | BYTES8_ONES * 0x20, 0x60, 0x7B);
        uint64_t word = alpha | s_between(w, 0x2F, 0x3A);
        uint64_t folded = (w | (alpha >> 2)) & ((word >> 7) * 0xFF);
        memcpy(out + i, &folded, sizeof(folded));
    }
    for (; i < size; i++) {
        high |= in[i];
        out[i] = (char)s_ascii[in[i] & 0x7F];
    }
    return !(high & BYTES8_HIGHS);
}
