/*  text.h: UTF-8 handling shared by the parser, country names and search.

    Folding maps Latin letters to lower-case ASCII where they have a base
    letter ("Côte" -> "cote", "Straße" -> "strasse"), leaves other scripts
    lower-cased, and replaces invalid UTF-8 with U+FFFD: invalid input is
    never trusted and never crashes. */
#ifndef DOSSIER_TEXT_H
#define DOSSIER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* U+FFFD REPLACEMENT CHARACTER: what invalid input decodes to. */
#define TEXT_REPLACEMENT 0xFFFDu

/*  Decodes one code point from s (at most size bytes) into *cp and returns
    the bytes consumed (1..4); an invalid or truncated sequence yields
    U+FFFD and consumes 1 byte. size must be > 0. */
size_t text_utf8_decode(const unsigned char *s, size_t size, uint32_t *cp);

/*  True when size bytes of s are strict UTF-8 (no overlong forms,
    surrogates, or code points past U+10FFFF), as a protobuf string field
    must be. NUL bytes count as valid (U+0000). */
bool text_utf8_valid(const char *s, size_t size);

/*  Writes cp as UTF-8 into out (4 bytes room) and returns the length. */
size_t text_utf8_encode(uint32_t cp, char *out);

/*  Copies the NUL-terminated src into dst (size > 0 bytes, the NUL
    included) as valid UTF-8, for a protobuf string that quotes bytes a
    client sent: each byte of an invalid or cut-off sequence becomes '?',
    and a character that does not fit whole in dst is left out (so a copy
    never ends inside a character). dst and src may be the same buffer
    (the copy never runs ahead of its source). Returns dst. */
char *text_utf8_copy(char *dst, size_t size, const char *src);

/*  Names the character that starts at s (size bytes left, at least 1) for
    a message a person reads: "'/'" for a printable ASCII character, "a
    space", "a tab", "'é'" for a whole UTF-8 character other than a
    control, else "byte 0xNN". Writes a NUL-terminated name into out (16
    bytes) and returns out. The result is always valid UTF-8. */
char *text_describe_char(const char *s, size_t size, char out[16]);

/*  Returns a malloc'd copy of size bytes of s with invalid sequences
    replaced by U+FFFD and NULs dropped; the caller frees. NULL only when
    out of memory. */
char *text_utf8_sanitize(const char *s, size_t size);

/*  Case- and accent-folds size bytes of s into a malloc'd string (the
    caller frees); NULL only when out of memory. */
char *text_fold(const char *s, size_t size);

/*  Folds one code point: appends its folded form (0..3 bytes, "ß" ->
    "ss") to out and returns the count written. out needs 3 bytes of room
    and is not NUL-terminated. No allocation, no locale: a table lookup for
    Latin, Greek and Cyrillic. Combining marks (U+0300..U+036F) fold to
    nothing; code points beyond U+FFFF (which would need 4 bytes) and
    invalid ones fold to U+FFFD. */
size_t text_fold_codepoint(uint32_t cp, char *out);

/*  True for code points that belong to words (letters, digits, marks),
    decided by Unicode block (an approximation outside Latin, Greek and
    Cyrillic, where it is exact); false for punctuation, symbols, spaces,
    U+FFFD and anything beyond U+FFFF. */
bool text_is_word_codepoint(uint32_t cp);

#endif
