/*  bytes8.h: eight bytes at a time, for the passes over text that are
    nearly all ASCII (the parser, the tokenizer, UTF-8 checks). Each test
    is exact for every byte of the word: no carry crosses from one byte
    into the next. Loads are unaligned-safe (memcpy). */
#ifndef DOSSIER_BYTES8_H
#define DOSSIER_BYTES8_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define BYTES8_ONES 0x0101010101010101ull
#define BYTES8_HIGHS 0x8080808080808080ull
#define BYTES8_LOW7 0x7F7F7F7F7F7F7F7Full

/*  The 8 bytes at p as one word (the first in the low byte on a
    little-endian machine). */
static inline uint64_t
bytes8_load(const void *p) {
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/*  The high bit of every byte of w that is 0, and no other bit. */
static inline uint64_t
bytes8_zeros(uint64_t w) {
    return ~(((w & BYTES8_LOW7) + BYTES8_LOW7) | w | BYTES8_LOW7);
}

/*  True when the 8 bytes of w are all ASCII (below 0x80). */
static inline bool
bytes8_ascii(uint64_t w) {
    return (w & BYTES8_HIGHS) == 0;
}

#endif
