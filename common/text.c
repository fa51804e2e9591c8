/*  text.c: UTF-8 decoding, sanitizing and case/accent folding.

    Decoding follows RFC 3629 strictly: overlong forms, surrogates, code
    points above U+10FFFF and truncated sequences are invalid and become
    U+FFFD, one byte at a time, so every byte of hostile input is consumed
    and nothing past size is read.

    Folding is table-driven so that the search tokenizer can call
    text_fold_codepoint() per code point without branching much or
    allocating. The tables cover U+00A0..U+02AF (Latin-1 Supplement, Latin
    Extended-A and -B, IPA Extensions: "ə" -> "e", "ɛ" -> "e", "ɔ" -> "o"),
    U+0300..U+04FF (combining marks, dropped; Greek and Cyrillic,
    lower-cased) and U+1E00..U+1EFF (Latin Extended Additional): a Latin
    letter folds to its NFKD base letters without marks, lower-cased, when
    that is ASCII, with letters that have no decomposition spelled out
    (ß->ss, æ->ae, ø->o, ł->l, þ->th, ...); superscript digits fold to
    digits, U+00A0 to a space, final sigma to sigma; anything else to its
    lowercase or itself. They live in text_tables.h, generated from the
    Unicode data by gen_text_tables.py, which says how each entry is
    derived; the full-text index on disk depends on them, so they fold as
    the Unicode 14 tables did. The ranges outside them are coded below. */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes8.h"
#include "text_tables.h"

/* text_fold_codepoint indexes the tables by these ranges. */
_Static_assert(sizeof s_fold_latin / sizeof *s_fold_latin == 0x2AF - 0xA0 + 1,
               "s_fold_latin covers U+00A0..U+02AF");
_Static_assert(sizeof s_fold_greek_cyrillic / sizeof *s_fold_greek_cyrillic ==
                   0x4FF - 0x300 + 1,
               "s_fold_greek_cyrillic covers U+0300..U+04FF");
_Static_assert(sizeof s_fold_latin_additional /
                       sizeof *s_fold_latin_additional ==
                   0x1EFF - 0x1E00 + 1,
               "s_fold_latin_additional covers U+1E00..U+1EFF");

size_t
text_utf8_decode(const unsigned char *s, size_t size, uint32_t *cp) {
    unsigned char b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t need;
    uint32_t value;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 2;
        value = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        value = b0 & 0x0F;
        if (b0 == 0xE0) {
            lo = 0xA0; /* overlong */
        } else if (b0 == 0xED) {
            hi = 0x9F; /* surrogates */
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        value = b0 & 0x07;
        if (b0 == 0xF0) {
            lo = 0x90; /* overlong */
        } else if (b0 == 0xF4) {
            hi = 0x8F; /* above U+10FFFF */
        }
    } else {
        *cp = TEXT_REPLACEMENT;
        return 1;
    }
    if (size < need || s[1] < lo || s[1] > hi) {
        *cp = TEXT_REPLACEMENT;
        return 1;
    }
    value = (value << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = TEXT_REPLACEMENT;
            return 1;
        }
        value = (value << 6) | (s[i] & 0x3F);
    }
    *cp = value;
    return need;
}

char *
text_utf8_copy(char *dst, size_t size, const char *src) {
    const unsigned char *s = (const unsigned char *)src;
    size_t left = strlen(src);
    size_t out = 0;
    while (left > 0 && out + 1 < size) {
        uint32_t cp;
        size_t n = text_utf8_decode(s, left, &cp);
        if (n == 1 && cp == TEXT_REPLACEMENT) {
            dst[out++] = '?';
        } else {
            if (out + n >= size) {
                break;
            }
            memmove(dst + out, s, n);
            out += n;
        }
        s += n;
        left -= n;
    }
    dst[out] = '\0';
    return dst;
}

bool
text_utf8_valid(const char *s, size_t size) {
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + size;
    while (p < end) {
        /* Most text is ASCII: take it 8 bytes at a time. */
        if (end - p >= 8 && bytes8_ascii(bytes8_load(p))) {
            p += 8;
            continue;
        }
        uint32_t cp;
        size_t n = text_utf8_decode(p, (size_t)(end - p), &cp);
        /* A real U+FFFD takes 3 bytes; the decoder's stand-in for an
           invalid byte takes 1. */
        if (cp == TEXT_REPLACEMENT && n == 1) {
            return false;
        }
        p += n;
    }
    return true;
}

size_t
text_utf8_encode(uint32_t cp, char *out) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = TEXT_REPLACEMENT;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *
text_utf8_sanitize(const char *s, size_t size) {
    /* Each invalid byte grows to 3 bytes (U+FFFD): 3 * size bounds it. */
    if (size > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *out = malloc(size * 3 + 1);
    if (!out) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < size) {
        /* Most text is ASCII without NULs: copy it 8 bytes at a time. */
        uint64_t word;
        if (size - i >= 8 && (word = bytes8_load(p + i), bytes8_ascii(word)) &&
            bytes8_zeros(word) == 0) {
            memcpy(out + o, &word, 8);
            i += 8;
            o += 8;
            continue;
        }
        if (p[i] == 0) {
            i++;
            continue;
        }
        if (p[i] < 0x80) {
            out[o++] = (char)p[i++];
            continue;
        }
        uint32_t cp;
        size_t n = text_utf8_decode(p + i, size - i, &cp);
        if (cp == TEXT_REPLACEMENT && n == 1) {
            o += text_utf8_encode(cp, out + o);
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    return out;
}

size_t
text_fold_codepoint(uint32_t cp, char *out) {
    const fold_entry_t *e = NULL;
    if (cp < 0x80) {
        out[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
        return 1;
    }
    if (cp >= 0xA0 && cp <= 0x2AF) {
        e = &s_fold_latin[cp - 0xA0];
    } else if (cp >= 0x300 && cp <= 0x4FF) {
        e = &s_fold_greek_cyrillic[cp - 0x300];
    } else if (cp >= 0x1E00 && cp <= 0x1EFF) {
        e = &s_fold_latin_additional[cp - 0x1E00];
    } else if (cp >= 0x500 && cp <= 0x52F) {
        cp |= 1; /* Cyrillic Supplement: capital even, small odd */
    } else if (cp >= 0xFF21 && cp <= 0xFF3A) {
        out[0] = (char)('a' + (cp - 0xFF21)); /* full-width Latin */
        return 1;
    } else if (cp >= 0xFF41 && cp <= 0xFF5A) {
        out[0] = (char)('a' + (cp - 0xFF41));
        return 1;
    } else if (cp >= 0xFF10 && cp <= 0xFF19) {
        out[0] = (char)('0' + (cp - 0xFF10));
        return 1;
    } else if (cp > 0xFFFF) {
        /* The contract is at most 3 bytes out; nothing Dossier folds lies
           beyond the BMP. */
        cp = TEXT_REPLACEMENT;
    }
    if (e) {
        memcpy(out, e->s, 3);
        return e->len;
    }
    return text_utf8_encode(cp, out);
}

char *
text_fold(const char *s, size_t size) {
    /* One input byte yields at most 3 output bytes (U+FFFD for a bad one;
       every table entry is no longer than its source). */
    if (size > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    char *out = malloc(size * 3 + 1);
    if (!out) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < size) {
        uint32_t cp;
        if (p[i] < 0x80) {
            cp = p[i++];
            if (cp == 0) {
                continue;
            }
            out[o++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            continue;
        }
        i += text_utf8_decode(p + i, size - i, &cp);
        o += text_fold_codepoint(cp, out + o);
    }
    out[o] = '\0';
    return out;
}

bool
text_is_word_codepoint(uint32_t cp) {
    if (cp < 0x80) {
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
               (cp >= 'A' && cp <= 'Z');
    }
    if (cp < 0xC0) {
        return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    }
    if (cp < 0x370) {
        return cp != 0xD7 && cp != 0xF7; /* Latin, IPA, modifiers, marks */
    }
    if (cp < 0x400) {
        /* Greek, less its punctuation and tonos signs */
        return cp != 0x375 && cp != 0x37E && cp != 0x384 && cp != 0x385 &&
               cp != 0x387;
    }
    if (cp < 0x530) {
        return cp != 0x482; /* Cyrillic, less the thousands sign */
    }
    if (cp < 0x2000) {
        /* Armenian .. Greek Extended: letters of many scripts. Leave out
           the common punctuation of Armenian, Hebrew and Arabic. */
        return !(cp >= 0x55A && cp <= 0x55F) && cp != 0x589 && cp != 0x5BE &&
               cp != 0x5C0 && cp != 0x5C3 && cp != 0x5C6 && cp != 0x5F3 &&
               cp != 0x5F4 && cp != 0x60C && cp != 0x61B && cp != 0x61F &&
               !(cp >= 0x66A && cp <= 0x66D) && cp != 0x6D4 &&
               !(cp >= 0x964 && cp <= 0x965) && cp != 0xE5A && cp != 0xE5B;
    }
    if (cp < 0x2C00) {
        return false; /* punctuation, symbols, arrows, boxes, dingbats */
    }
    if (cp < 0x2E00) {
        return true; /* Glagolitic, Latin Extended-C, Coptic, Ethiopic */
    }
    if (cp < 0x3040) {
        return cp == 0x3005 || cp == 0x3006; /* CJK punctuation, radicals */
    }
    if (cp < 0xD800) {
        return cp != 0x30FB; /* kana, CJK, Yi, Hangul */
    }
    if (cp < 0xF900) {
        return false; /* surrogates, private use */
    }
    if (cp < 0xFE00) {
        return cp != 0xFD3E && cp != 0xFD3F; /* CJK compat., presentation */
    }
    if (cp < 0xFE70) {
        return cp >= 0xFE20 && cp <= 0xFE2F; /* combining half marks */
    }
    if (cp < 0xFF00) {
        return cp != 0xFEFF; /* Arabic presentation forms B, not the BOM */
    }
    if (cp < 0xFFF0) {
        return (cp >= 0xFF10 && cp <= 0xFF19) ||
               (cp >= 0xFF21 && cp <= 0xFF3A) ||
               (cp >= 0xFF41 && cp <= 0xFF5A) || (cp >= 0xFF66 && cp <= 0xFFDC);
    }
    return false; /* specials (U+FFFD) and, per text_fold, beyond the BMP */
}

char *
text_describe_char(const char *s, size_t size, char out[16]) {
    unsigned char c = (unsigned char)s[0];
    if (c == ' ') {
        return strcpy(out, "a space");
    }
    if (c == '\t') {
        return strcpy(out, "a tab");
    }
    if (c > 0x20 && c < 0x7f) {
        snprintf(out, 16, "'%c'", c);
        return out;
    }
    uint32_t cp = 0;
    size_t n =
        c >= 0x80 ? text_utf8_decode((const unsigned char *)s, size, &cp) : 0;
    /* A whole character that is not a C1 control or a format mark. */
    if (n > 1 && cp >= 0xa0 && cp != 0xad && !(cp >= 0x2000 && cp < 0x2070)) {
        out[0] = '\'';
        memcpy(out + 1, s, n);
        out[n + 1] = '\'';
        out[n + 2] = '\0';
        return out;
    }
    snprintf(out, 16, "byte 0x%02x", c);
    return out;
}
