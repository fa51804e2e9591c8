/*  refworld_text.c: the text of a Refworld document made regular before
    the pass over its lines, and the parser's small helpers (strings, the
    lists of paragraphs and warnings, the warnings themselves).

    The text is first made regular: UTF-16 (with its byte-order mark) and
    Windows-1252 (bytes that are not UTF-8 in text without a single UTF-8
    sequence) are converted, a UTF-8 byte-order mark is dropped, invalid
    UTF-8 becomes U+FFFD, NULs and other control characters go,
    CRLF and CR become LF, no-break and other Unicode spaces become plain
    spaces, and every line is trimmed with its runs of spaces collapsed.
    Nearly all of it is printable ASCII, so the passes over the text test
    eight bytes at a time (bytes8.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes8.h"
#include "refworld_internal.h"
#include "text.h"

/* Warnings kept per document; more would only repeat themselves. */
#define WARNINGS_MAX 32

/* ---- small string helpers ------------------------------------------ */

void
refworld_vec_free(refworld_strvec_t *v) {
    for (size_t i = 0; i < v->count; i++) {
        free(v->items[i]);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

void
refworld_warn(refworld_parser_t *p, const char *fmt, ...) {
    if (p->warnings.count >= WARNINGS_MAX) {
        return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *w = strdup(buf);
    if (!w || !refworld_vec_push(&p->warnings, w)) {
        free(w);
        p->oom = true;
    }
}

const char *
refworld_excerpt(const char *s, char *buf, size_t size) {
    size_t n = strlen(s);
    size_t max = size - 4;
    if (n <= max) {
        memcpy(buf, s, n + 1);
        return buf;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    memcpy(buf, s, max);
    memcpy(buf + max, "...", 4);
    return buf;
}

const char *
refworld_strcasestr(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

static bool
s_is_blank_char(char c) {
    return c == ' ' || c == '\t';
}

/* ---- eight bytes at a time ------------------------------------------ */

/* Nearly all of a report is printable ASCII: the passes over its text
   test 8 bytes at once and look at single bytes only where a word holds
   something else. */
/*  True when the 8 bytes of w are all printable ASCII (0x20..0x7E). */
static bool
s_printable8(uint64_t w) {
    uint64_t high = w & ~BYTES8_LOW7;
    /* a byte below 0x20 borrows into its high bit (exact for "any" when no
       byte has its high bit set) */
    uint64_t below = (w - BYTES8_ONES * 0x20) & ~w & ~BYTES8_LOW7;
    return (high | below | bytes8_zeros(w ^ (BYTES8_ONES * 0x7F))) == 0;
}

/* ---- text normalization -------------------------------------------- */

void
refworld_count_bytes(const unsigned char *s, size_t size, refworld_bytes_t *b) {
    memset(b, 0, sizeof(*b));
    size_t i = 0;
    while (i < size) {
        if (size - i >= 8 && s_printable8(bytes8_load(s + i))) {
            i += 8; /* nothing to count */
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0) {
                b->nuls++;
            } else if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t' &&
                        c != '\f' && c != '\v') ||
                       c == 0x7F) {
                b->controls++;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = text_utf8_decode(s + i, size - i, &cp);
        if (cp == TEXT_REPLACEMENT && n == 1) {
            b->invalid++;
            b->undefined +=
                c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D;
        } else {
            b->multibyte++;
        }
        i += n;
    }
}

/* Windows-1252 0x80..0x9F; 0 where the code page defines nothing. */
static const uint16_t s_cp1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

char *
refworld_cp1252_to_utf8(const unsigned char *s, size_t size) {
    char *out = malloc(size * 3 + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = s[i];
        if (c == 0) {
            continue;
        }
        uint32_t cp = c;
        if (c >= 0x80 && c <= 0x9F) {
            cp = s_cp1252[c - 0x80] ? s_cp1252[c - 0x80] : TEXT_REPLACEMENT;
        }
        o += text_utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    return out;
}

char *
refworld_utf16_to_utf8(const unsigned char *s, size_t size,
                       bool little_endian) {
    size_t units = (size - 2) / 2;
    /* a unit gives at most 3 bytes; a pair (2 units) gives 4 */
    char *out = malloc(units * 3 + 4);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        const unsigned char *b = s + 2 + 2 * i;
        uint32_t cu = little_endian ? (uint32_t)(b[0] | (b[1] << 8))
                                    : (uint32_t)((b[0] << 8) | b[1]);
        uint32_t cp = cu;
        if (cu >= 0xD800 && cu <= 0xDBFF && i + 1 < units) {
            const unsigned char *c = b + 2;
            uint32_t lo = little_endian ? (uint32_t)(c[0] | (c[1] << 8))
                                        : (uint32_t)((c[0] << 8) | c[1]);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            }
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
            cp = TEXT_REPLACEMENT;
        }
        o += text_utf8_encode(cp, out + o);
    }
    if ((size - 2) % 2) {
        o += text_utf8_encode(TEXT_REPLACEMENT, out + o);
    }
    out[o] = '\0';
    return out;
}

/*  True for the Unicode spaces that become a plain space. */
static bool
s_is_unicode_space(uint32_t cp) {
    return cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0x1680;
}

/*  True for invisible code points that are dropped (BOM, zero-width space,
    soft hyphen, word joiner). */
static bool
s_is_invisible(uint32_t cp) {
    return cp == 0xFEFF || cp == 0x200B || cp == 0x00AD || cp == 0x2060;
}

size_t
refworld_normalize_text(const char *in, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint64_t w;
        if (n - i >= 8 && s_printable8(w = bytes8_load(in + i))) {
            memcpy(out + o, &w, sizeof(w)); /* kept as is */
            i += 8;
            o += 8;
            continue;
        }
        unsigned char c = (unsigned char)in[i];
        if (c == '\r') {
            out[o++] = '\n';
            i += (i + 1 < n && in[i + 1] == '\n') ? 2 : 1;
            continue;
        }
        if (c < 0x80) {
            if (c == '\n') {
                out[o++] = '\n';
            } else if (c < 0x20 || c == 0x7F) {
                out[o++] = ' '; /* tabs, form feeds, stray controls */
            } else {
                out[o++] = (char)c;
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t len =
            text_utf8_decode((const unsigned char *)in + i, n - i, &cp);
        if (s_is_unicode_space(cp)) {
            out[o++] = ' ';
        } else if (cp >= 0x80 && cp <= 0x9F) {
            out[o++] = ' '; /* C1 controls */
        } else if (cp == 0x2028 || cp == 0x2029) {
            out[o++] = '\n';
        } else if (!s_is_invisible(cp)) {
            memmove(out + o, in + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return o;
}

size_t
refworld_clean_line(char *line, size_t n) {
    /* Most lines are clean already: find the first byte that the cleaning
       changes (a tab, a space at the start or after a space), 8 bytes at
       a time while they hold neither a tab nor two spaces in a row. Each
       step moves 7, so that every pair of neighbours is seen in one. */
    size_t i = 0;
    if (n > 0 && line[0] != ' ') {
        while (n - i >= 8) {
            uint64_t w = bytes8_load(line + i);
            uint64_t spaces = bytes8_zeros(w ^ (BYTES8_ONES * ' '));
            if (bytes8_zeros(w ^ (BYTES8_ONES * '\t')) |
                (spaces & (spaces << 8))) {
                break;
            }
            i += 7;
        }
        while (i < n && line[i] != '\t' &&
               !(line[i] == ' ' && (i == 0 || line[i - 1] == ' '))) {
            i++;
        }
    }
    if (i == n) {
        /* at most one space at the end to trim */
        if (n > 0 && line[n - 1] == ' ') {
            n--;
        }
        line[n] = '\0';
        return n;
    }
    /* From i on, the byte loop: bytes before it stay where they are, less
       a space before i (pending: it is written only before a word). */
    bool space = i > 0 && line[i - 1] == ' ';
    size_t o = space ? i - 1 : i;
    for (; i < n; i++) {
        if (s_is_blank_char(line[i])) {
            space = true;
            continue;
        }
        if (space && o > 0) {
            line[o++] = ' ';
        }
        space = false;
        line[o++] = line[i];
    }
    line[o] = '\0';
    return o;
}
