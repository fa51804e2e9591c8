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
    lower-cased) and U+1E00..U+1EFF (Latin Extended Additional). They were
    generated from Unicode 14 data (Python's unicodedata): a Latin letter
    folds to its NFKD base letters without marks, lower-cased, when that is
    ASCII, with ligatures and letters that have no decomposition spelled
    out (ß->ss, æ->ae, œ->oe, ø->o, ł->l, ŀ->l, đ->d, þ->th, ð->d, ı->i);
    superscript digits fold to digits, U+00A0 to a space, final sigma to
    sigma; anything else maps to itself. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#include "bytes8.h"

typedef struct {
    unsigned char len; /* bytes of s used, 0..3 */
    char s[4];
} fold_entry_t;

static const fold_entry_t s_fold_latin[0x2AF - 0xA0 + 1] = {
    {1, " "},
    {2, "\xc2"
        "\xa1"},
    {2, "\xc2"
        "\xa2"},
    {2, "\xc2"
        "\xa3"},
    {2, "\xc2"
        "\xa4"},
    {2, "\xc2"
        "\xa5"},
    {2, "\xc2"
        "\xa6"},
    {2, "\xc2"
        "\xa7"},
    {2, "\xc2"
        "\xa8"},
    {2, "\xc2"
        "\xa9"},
    {1, "a"},
    {2, "\xc2"
        "\xab"},
    {2, "\xc2"
        "\xac"},
    {2, "\xc2"
        "\xad"},
    {2, "\xc2"
        "\xae"},
    {2, "\xc2"
        "\xaf"},
    {2, "\xc2"
        "\xb0"},
    {2, "\xc2"
        "\xb1"},
    {1, "2"},
    {1, "3"},
    {2, "\xc2"
        "\xb4"},
    {2, "\xce"
        "\xbc"},
    {2, "\xc2"
        "\xb6"},
    {2, "\xc2"
        "\xb7"},
    {2, "\xc2"
        "\xb8"},
    {1, "1"},
    {1, "o"},
    {2, "\xc2"
        "\xbb"},
    {2, "\xc2"
        "\xbc"},
    {2, "\xc2"
        "\xbd"},
    {2, "\xc2"
        "\xbe"},
    {2, "\xc2"
        "\xbf"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {2, "ae"},
    {1, "c"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "d"},
    {1, "n"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {2, "\xc3"
        "\x97"},
    {1, "o"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "y"},
    {2, "th"},
    {2, "ss"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {2, "ae"},
    {1, "c"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "d"},
    {1, "n"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {2, "\xc3"
        "\xb7"},
    {1, "o"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "y"},
    {2, "th"},
    {1, "y"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "c"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {2, "ij"},
    {2, "ij"},
    {1, "j"},
    {1, "j"},
    {1, "k"},
    {1, "k"},
    {1, "k"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {2, "oe"},
    {2, "oe"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "w"},
    {1, "w"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "s"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {2, "\xc6"
        "\x85"},
    {2, "\xc6"
        "\x85"},
    {1, "o"},
    {1, "c"},
    {1, "c"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {2, "\xc6"
        "\x8d"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "f"},
    {1, "f"},
    {1, "g"},
    {2, "\xc9"
        "\xa3"},
    {2, "hv"},
    {1, "i"},
    {1, "i"},
    {1, "k"},
    {1, "k"},
    {1, "l"},
    {2, "\xc6"
        "\x9b"},
    {1, "m"},
    {1, "n"},
    {1, "n"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {2, "oi"},
    {2, "oi"},
    {1, "p"},
    {1, "p"},
    {1, "r"},
    {2, "\xc6"
        "\xa8"},
    {2, "\xc6"
        "\xa8"},
    {2, "\xca"
        "\x83"},
    {2, "\xc6"
        "\xaa"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "v"},
    {1, "y"},
    {1, "y"},
    {1, "z"},
    {1, "z"},
    {2, "\xca"
        "\x92"},
    {2, "\xc6"
        "\xb9"},
    {2, "\xc6"
        "\xb9"},
    {2, "\xc6"
        "\xba"},
    {2, "\xc6"
        "\xbb"},
    {2, "\xc6"
        "\xbd"},
    {2, "\xc6"
        "\xbd"},
    {2, "\xc6"
        "\xbe"},
    {2, "\xc6"
        "\xbf"},
    {2, "\xc7"
        "\x80"},
    {2, "\xc7"
        "\x81"},
    {2, "\xc7"
        "\x82"},
    {2, "\xc7"
        "\x83"},
    {2, "dz"},
    {2, "dz"},
    {2, "dz"},
    {2, "lj"},
    {2, "lj"},
    {2, "lj"},
    {2, "nj"},
    {2, "nj"},
    {2, "nj"},
    {1, "a"},
    {1, "a"},
    {1, "i"},
    {1, "i"},
    {1, "o"},
    {1, "o"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "e"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {2, "\xc7"
        "\xa3"},
    {2, "\xc7"
        "\xa3"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {1, "k"},
    {1, "k"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {2, "\xc7"
        "\xaf"},
    {2, "\xc7"
        "\xaf"},
    {1, "j"},
    {2, "dz"},
    {2, "dz"},
    {2, "dz"},
    {1, "g"},
    {1, "g"},
    {2, "hv"},
    {1, "w"},
    {1, "n"},
    {1, "n"},
    {1, "a"},
    {1, "a"},
    {2, "\xc7"
        "\xbd"},
    {2, "\xc7"
        "\xbd"},
    {2, "\xc7"
        "\xbf"},
    {2, "\xc7"
        "\xbf"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "s"},
    {1, "s"},
    {1, "t"},
    {1, "t"},
    {2, "\xc8"
        "\x9d"},
    {2, "\xc8"
        "\x9d"},
    {1, "h"},
    {1, "h"},
    {1, "n"},
    {1, "d"},
    {2, "ou"},
    {2, "ou"},
    {1, "z"},
    {1, "z"},
    {1, "a"},
    {1, "a"},
    {1, "e"},
    {1, "e"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "y"},
    {1, "y"},
    {1, "l"},
    {1, "n"},
    {1, "t"},
    {1, "j"},
    {2, "db"},
    {2, "qp"},
    {1, "a"},
    {1, "c"},
    {1, "c"},
    {1, "l"},
    {1, "t"},
    {1, "s"},
    {1, "z"},
    {2, "\xc9"
        "\x82"},
    {2, "\xc9"
        "\x82"},
    {1, "b"},
    {1, "u"},
    {1, "v"},
    {1, "e"},
    {1, "e"},
    {1, "j"},
    {1, "j"},
    {1, "q"},
    {1, "q"},
    {1, "r"},
    {1, "r"},
    {1, "y"},
    {1, "y"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "b"},
    {1, "o"},
    {1, "c"},
    {1, "d"},
    {1, "d"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "j"},
    {1, "g"},
    {1, "g"},
    {1, "g"},
    {2, "\xc9"
        "\xa3"},
    {2, "\xc9"
        "\xa4"},
    {2, "\xc9"
        "\xa5"},
    {1, "h"},
    {2, "\xc9"
        "\xa7"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {2, "\xc9"
        "\xae"},
    {1, "m"},
    {2, "\xc9"
        "\xb0"},
    {1, "m"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "o"},
    {2, "oe"},
    {2, "\xc9"
        "\xb7"},
    {2, "\xc9"
        "\xb8"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {2, "\xc9"
        "\xbf"},
    {1, "r"},
    {2, "\xca"
        "\x81"},
    {1, "s"},
    {2, "\xca"
        "\x83"},
    {2, "\xca"
        "\x84"},
    {2, "\xca"
        "\x85"},
    {2, "\xca"
        "\x86"},
    {2, "\xca"
        "\x87"},
    {1, "t"},
    {1, "u"},
    {2, "\xca"
        "\x8a"},
    {1, "v"},
    {2, "\xca"
        "\x8c"},
    {2, "\xca"
        "\x8d"},
    {2, "\xca"
        "\x8e"},
    {1, "y"},
    {1, "z"},
    {1, "z"},
    {2, "\xca"
        "\x92"},
    {2, "\xca"
        "\x93"},
    {2, "\xca"
        "\x94"},
    {2, "\xca"
        "\x95"},
    {2, "\xca"
        "\x96"},
    {2, "\xca"
        "\x97"},
    {2, "\xca"
        "\x98"},
    {2, "\xca"
        "\x99"},
    {2, "\xca"
        "\x9a"},
    {2, "\xca"
        "\x9b"},
    {2, "\xca"
        "\x9c"},
    {2, "\xca"
        "\x9d"},
    {2, "\xca"
        "\x9e"},
    {2, "\xca"
        "\x9f"},
    {2, "\xca"
        "\xa0"},
    {2, "\xca"
        "\xa1"},
    {2, "\xca"
        "\xa2"},
    {2, "\xca"
        "\xa3"},
    {2, "\xca"
        "\xa4"},
    {2, "\xca"
        "\xa5"},
    {2, "\xca"
        "\xa6"},
    {2, "\xca"
        "\xa7"},
    {2, "\xca"
        "\xa8"},
    {2, "\xca"
        "\xa9"},
    {2, "\xca"
        "\xaa"},
    {2, "\xca"
        "\xab"},
    {2, "\xca"
        "\xac"},
    {2, "\xca"
        "\xad"},
    {2, "\xca"
        "\xae"},
    {2, "\xca"
        "\xaf"},
};
static const fold_entry_t s_fold_greek_cyrillic[0x4FF - 0x300 + 1] = {
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {0, ""},
    {2, "\xcd"
        "\xb1"},
    {2, "\xcd"
        "\xb1"},
    {2, "\xcd"
        "\xb3"},
    {2, "\xcd"
        "\xb3"},
    {2, "\xcd"
        "\xb4"},
    {2, "\xcd"
        "\xb5"},
    {2, "\xcd"
        "\xb7"},
    {2, "\xcd"
        "\xb7"},
    {2, "\xcd"
        "\xb8"},
    {2, "\xcd"
        "\xb9"},
    {2, "\xcd"
        "\xba"},
    {2, "\xcd"
        "\xbb"},
    {2, "\xcd"
        "\xbc"},
    {2, "\xcd"
        "\xbd"},
    {2, "\xcd"
        "\xbe"},
    {2, "\xcf"
        "\xb3"},
    {2, "\xce"
        "\x80"},
    {2, "\xce"
        "\x81"},
    {2, "\xce"
        "\x82"},
    {2, "\xce"
        "\x83"},
    {2, "\xce"
        "\x84"},
    {2, "\xce"
        "\x85"},
    {2, "\xce"
        "\xac"},
    {2, "\xce"
        "\x87"},
    {2, "\xce"
        "\xad"},
    {2, "\xce"
        "\xae"},
    {2, "\xce"
        "\xaf"},
    {2, "\xce"
        "\x8b"},
    {2, "\xcf"
        "\x8c"},
    {2, "\xce"
        "\x8d"},
    {2, "\xcf"
        "\x8d"},
    {2, "\xcf"
        "\x8e"},
    {2, "\xce"
        "\x90"},
    {2, "\xce"
        "\xb1"},
    {2, "\xce"
        "\xb2"},
    {2, "\xce"
        "\xb3"},
    {2, "\xce"
        "\xb4"},
    {2, "\xce"
        "\xb5"},
    {2, "\xce"
        "\xb6"},
    {2, "\xce"
        "\xb7"},
    {2, "\xce"
        "\xb8"},
    {2, "\xce"
        "\xb9"},
    {2, "\xce"
        "\xba"},
    {2, "\xce"
        "\xbb"},
    {2, "\xce"
        "\xbc"},
    {2, "\xce"
        "\xbd"},
    {2, "\xce"
        "\xbe"},
    {2, "\xce"
        "\xbf"},
    {2, "\xcf"
        "\x80"},
    {2, "\xcf"
        "\x81"},
    {2, "\xce"
        "\xa2"},
    {2, "\xcf"
        "\x83"},
    {2, "\xcf"
        "\x84"},
    {2, "\xcf"
        "\x85"},
    {2, "\xcf"
        "\x86"},
    {2, "\xcf"
        "\x87"},
    {2, "\xcf"
        "\x88"},
    {2, "\xcf"
        "\x89"},
    {2, "\xcf"
        "\x8a"},
    {2, "\xcf"
        "\x8b"},
    {2, "\xce"
        "\xac"},
    {2, "\xce"
        "\xad"},
    {2, "\xce"
        "\xae"},
    {2, "\xce"
        "\xaf"},
    {2, "\xce"
        "\xb0"},
    {2, "\xce"
        "\xb1"},
    {2, "\xce"
        "\xb2"},
    {2, "\xce"
        "\xb3"},
    {2, "\xce"
        "\xb4"},
    {2, "\xce"
        "\xb5"},
    {2, "\xce"
        "\xb6"},
    {2, "\xce"
        "\xb7"},
    {2, "\xce"
        "\xb8"},
    {2, "\xce"
        "\xb9"},
    {2, "\xce"
        "\xba"},
    {2, "\xce"
        "\xbb"},
    {2, "\xce"
        "\xbc"},
    {2, "\xce"
        "\xbd"},
    {2, "\xce"
        "\xbe"},
    {2, "\xce"
        "\xbf"},
    {2, "\xcf"
        "\x80"},
    {2, "\xcf"
        "\x81"},
    {2, "\xcf"
        "\x83"},
    {2, "\xcf"
        "\x83"},
    {2, "\xcf"
        "\x84"},
    {2, "\xcf"
        "\x85"},
    {2, "\xcf"
        "\x86"},
    {2, "\xcf"
        "\x87"},
    {2, "\xcf"
        "\x88"},
    {2, "\xcf"
        "\x89"},
    {2, "\xcf"
        "\x8a"},
    {2, "\xcf"
        "\x8b"},
    {2, "\xcf"
        "\x8c"},
    {2, "\xcf"
        "\x8d"},
    {2, "\xcf"
        "\x8e"},
    {2, "\xcf"
        "\x97"},
    {2, "\xcf"
        "\x90"},
    {2, "\xcf"
        "\x91"},
    {2, "\xcf"
        "\x92"},
    {2, "\xcf"
        "\x93"},
    {2, "\xcf"
        "\x94"},
    {2, "\xcf"
        "\x95"},
    {2, "\xcf"
        "\x96"},
    {2, "\xcf"
        "\x97"},
    {2, "\xcf"
        "\x99"},
    {2, "\xcf"
        "\x99"},
    {2, "\xcf"
        "\x9b"},
    {2, "\xcf"
        "\x9b"},
    {2, "\xcf"
        "\x9d"},
    {2, "\xcf"
        "\x9d"},
    {2, "\xcf"
        "\x9f"},
    {2, "\xcf"
        "\x9f"},
    {2, "\xcf"
        "\xa1"},
    {2, "\xcf"
        "\xa1"},
    {2, "\xcf"
        "\xa3"},
    {2, "\xcf"
        "\xa3"},
    {2, "\xcf"
        "\xa5"},
    {2, "\xcf"
        "\xa5"},
    {2, "\xcf"
        "\xa7"},
    {2, "\xcf"
        "\xa7"},
    {2, "\xcf"
        "\xa9"},
    {2, "\xcf"
        "\xa9"},
    {2, "\xcf"
        "\xab"},
    {2, "\xcf"
        "\xab"},
    {2, "\xcf"
        "\xad"},
    {2, "\xcf"
        "\xad"},
    {2, "\xcf"
        "\xaf"},
    {2, "\xcf"
        "\xaf"},
    {2, "\xcf"
        "\xb0"},
    {2, "\xcf"
        "\xb1"},
    {2, "\xcf"
        "\xb2"},
    {2, "\xcf"
        "\xb3"},
    {2, "\xce"
        "\xb8"},
    {2, "\xcf"
        "\xb5"},
    {2, "\xcf"
        "\xb6"},
    {2, "\xcf"
        "\xb8"},
    {2, "\xcf"
        "\xb8"},
    {2, "\xcf"
        "\xb2"},
    {2, "\xcf"
        "\xbb"},
    {2, "\xcf"
        "\xbb"},
    {2, "\xcf"
        "\xbc"},
    {2, "\xcd"
        "\xbb"},
    {2, "\xcd"
        "\xbc"},
    {2, "\xcd"
        "\xbd"},
    {2, "\xd1"
        "\x90"},
    {2, "\xd1"
        "\x91"},
    {2, "\xd1"
        "\x92"},
    {2, "\xd1"
        "\x93"},
    {2, "\xd1"
        "\x94"},
    {2, "\xd1"
        "\x95"},
    {2, "\xd1"
        "\x96"},
    {2, "\xd1"
        "\x97"},
    {2, "\xd1"
        "\x98"},
    {2, "\xd1"
        "\x99"},
    {2, "\xd1"
        "\x9a"},
    {2, "\xd1"
        "\x9b"},
    {2, "\xd1"
        "\x9c"},
    {2, "\xd1"
        "\x9d"},
    {2, "\xd1"
        "\x9e"},
    {2, "\xd1"
        "\x9f"},
    {2, "\xd0"
        "\xb0"},
    {2, "\xd0"
        "\xb1"},
    {2, "\xd0"
        "\xb2"},
    {2, "\xd0"
        "\xb3"},
    {2, "\xd0"
        "\xb4"},
    {2, "\xd0"
        "\xb5"},
    {2, "\xd0"
        "\xb6"},
    {2, "\xd0"
        "\xb7"},
    {2, "\xd0"
        "\xb8"},
    {2, "\xd0"
        "\xb9"},
    {2, "\xd0"
        "\xba"},
    {2, "\xd0"
        "\xbb"},
    {2, "\xd0"
        "\xbc"},
    {2, "\xd0"
        "\xbd"},
    {2, "\xd0"
        "\xbe"},
    {2, "\xd0"
        "\xbf"},
    {2, "\xd1"
        "\x80"},
    {2, "\xd1"
        "\x81"},
    {2, "\xd1"
        "\x82"},
    {2, "\xd1"
        "\x83"},
    {2, "\xd1"
        "\x84"},
    {2, "\xd1"
        "\x85"},
    {2, "\xd1"
        "\x86"},
    {2, "\xd1"
        "\x87"},
    {2, "\xd1"
        "\x88"},
    {2, "\xd1"
        "\x89"},
    {2, "\xd1"
        "\x8a"},
    {2, "\xd1"
        "\x8b"},
    {2, "\xd1"
        "\x8c"},
    {2, "\xd1"
        "\x8d"},
    {2, "\xd1"
        "\x8e"},
    {2, "\xd1"
        "\x8f"},
    {2, "\xd0"
        "\xb0"},
    {2, "\xd0"
        "\xb1"},
    {2, "\xd0"
        "\xb2"},
    {2, "\xd0"
        "\xb3"},
    {2, "\xd0"
        "\xb4"},
    {2, "\xd0"
        "\xb5"},
    {2, "\xd0"
        "\xb6"},
    {2, "\xd0"
        "\xb7"},
    {2, "\xd0"
        "\xb8"},
    {2, "\xd0"
        "\xb9"},
    {2, "\xd0"
        "\xba"},
    {2, "\xd0"
        "\xbb"},
    {2, "\xd0"
        "\xbc"},
    {2, "\xd0"
        "\xbd"},
    {2, "\xd0"
        "\xbe"},
    {2, "\xd0"
        "\xbf"},
    {2, "\xd1"
        "\x80"},
    {2, "\xd1"
        "\x81"},
    {2, "\xd1"
        "\x82"},
    {2, "\xd1"
        "\x83"},
    {2, "\xd1"
        "\x84"},
    {2, "\xd1"
        "\x85"},
    {2, "\xd1"
        "\x86"},
    {2, "\xd1"
        "\x87"},
    {2, "\xd1"
        "\x88"},
    {2, "\xd1"
        "\x89"},
    {2, "\xd1"
        "\x8a"},
    {2, "\xd1"
        "\x8b"},
    {2, "\xd1"
        "\x8c"},
    {2, "\xd1"
        "\x8d"},
    {2, "\xd1"
        "\x8e"},
    {2, "\xd1"
        "\x8f"},
    {2, "\xd1"
        "\x90"},
    {2, "\xd1"
        "\x91"},
    {2, "\xd1"
        "\x92"},
    {2, "\xd1"
        "\x93"},
    {2, "\xd1"
        "\x94"},
    {2, "\xd1"
        "\x95"},
    {2, "\xd1"
        "\x96"},
    {2, "\xd1"
        "\x97"},
    {2, "\xd1"
        "\x98"},
    {2, "\xd1"
        "\x99"},
    {2, "\xd1"
        "\x9a"},
    {2, "\xd1"
        "\x9b"},
    {2, "\xd1"
        "\x9c"},
    {2, "\xd1"
        "\x9d"},
    {2, "\xd1"
        "\x9e"},
    {2, "\xd1"
        "\x9f"},
    {2, "\xd1"
        "\xa1"},
    {2, "\xd1"
        "\xa1"},
    {2, "\xd1"
        "\xa3"},
    {2, "\xd1"
        "\xa3"},
    {2, "\xd1"
        "\xa5"},
    {2, "\xd1"
        "\xa5"},
    {2, "\xd1"
        "\xa7"},
    {2, "\xd1"
        "\xa7"},
    {2, "\xd1"
        "\xa9"},
    {2, "\xd1"
        "\xa9"},
    {2, "\xd1"
        "\xab"},
    {2, "\xd1"
        "\xab"},
    {2, "\xd1"
        "\xad"},
    {2, "\xd1"
        "\xad"},
    {2, "\xd1"
        "\xaf"},
    {2, "\xd1"
        "\xaf"},
    {2, "\xd1"
        "\xb1"},
    {2, "\xd1"
        "\xb1"},
    {2, "\xd1"
        "\xb3"},
    {2, "\xd1"
        "\xb3"},
    {2, "\xd1"
        "\xb5"},
    {2, "\xd1"
        "\xb5"},
    {2, "\xd1"
        "\xb7"},
    {2, "\xd1"
        "\xb7"},
    {2, "\xd1"
        "\xb9"},
    {2, "\xd1"
        "\xb9"},
    {2, "\xd1"
        "\xbb"},
    {2, "\xd1"
        "\xbb"},
    {2, "\xd1"
        "\xbd"},
    {2, "\xd1"
        "\xbd"},
    {2, "\xd1"
        "\xbf"},
    {2, "\xd1"
        "\xbf"},
    {2, "\xd2"
        "\x81"},
    {2, "\xd2"
        "\x81"},
    {2, "\xd2"
        "\x82"},
    {2, "\xd2"
        "\x83"},
    {2, "\xd2"
        "\x84"},
    {2, "\xd2"
        "\x85"},
    {2, "\xd2"
        "\x86"},
    {2, "\xd2"
        "\x87"},
    {2, "\xd2"
        "\x88"},
    {2, "\xd2"
        "\x89"},
    {2, "\xd2"
        "\x8b"},
    {2, "\xd2"
        "\x8b"},
    {2, "\xd2"
        "\x8d"},
    {2, "\xd2"
        "\x8d"},
    {2, "\xd2"
        "\x8f"},
    {2, "\xd2"
        "\x8f"},
    {2, "\xd2"
        "\x91"},
    {2, "\xd2"
        "\x91"},
    {2, "\xd2"
        "\x93"},
    {2, "\xd2"
        "\x93"},
    {2, "\xd2"
        "\x95"},
    {2, "\xd2"
        "\x95"},
    {2, "\xd2"
        "\x97"},
    {2, "\xd2"
        "\x97"},
    {2, "\xd2"
        "\x99"},
    {2, "\xd2"
        "\x99"},
    {2, "\xd2"
        "\x9b"},
    {2, "\xd2"
        "\x9b"},
    {2, "\xd2"
        "\x9d"},
    {2, "\xd2"
        "\x9d"},
    {2, "\xd2"
        "\x9f"},
    {2, "\xd2"
        "\x9f"},
    {2, "\xd2"
        "\xa1"},
    {2, "\xd2"
        "\xa1"},
    {2, "\xd2"
        "\xa3"},
    {2, "\xd2"
        "\xa3"},
    {2, "\xd2"
        "\xa5"},
    {2, "\xd2"
        "\xa5"},
    {2, "\xd2"
        "\xa7"},
    {2, "\xd2"
        "\xa7"},
    {2, "\xd2"
        "\xa9"},
    {2, "\xd2"
        "\xa9"},
    {2, "\xd2"
        "\xab"},
    {2, "\xd2"
        "\xab"},
    {2, "\xd2"
        "\xad"},
    {2, "\xd2"
        "\xad"},
    {2, "\xd2"
        "\xaf"},
    {2, "\xd2"
        "\xaf"},
    {2, "\xd2"
        "\xb1"},
    {2, "\xd2"
        "\xb1"},
    {2, "\xd2"
        "\xb3"},
    {2, "\xd2"
        "\xb3"},
    {2, "\xd2"
        "\xb5"},
    {2, "\xd2"
        "\xb5"},
    {2, "\xd2"
        "\xb7"},
    {2, "\xd2"
        "\xb7"},
    {2, "\xd2"
        "\xb9"},
    {2, "\xd2"
        "\xb9"},
    {2, "\xd2"
        "\xbb"},
    {2, "\xd2"
        "\xbb"},
    {2, "\xd2"
        "\xbd"},
    {2, "\xd2"
        "\xbd"},
    {2, "\xd2"
        "\xbf"},
    {2, "\xd2"
        "\xbf"},
    {2, "\xd3"
        "\x8f"},
    {2, "\xd3"
        "\x82"},
    {2, "\xd3"
        "\x82"},
    {2, "\xd3"
        "\x84"},
    {2, "\xd3"
        "\x84"},
    {2, "\xd3"
        "\x86"},
    {2, "\xd3"
        "\x86"},
    {2, "\xd3"
        "\x88"},
    {2, "\xd3"
        "\x88"},
    {2, "\xd3"
        "\x8a"},
    {2, "\xd3"
        "\x8a"},
    {2, "\xd3"
        "\x8c"},
    {2, "\xd3"
        "\x8c"},
    {2, "\xd3"
        "\x8e"},
    {2, "\xd3"
        "\x8e"},
    {2, "\xd3"
        "\x8f"},
    {2, "\xd3"
        "\x91"},
    {2, "\xd3"
        "\x91"},
    {2, "\xd3"
        "\x93"},
    {2, "\xd3"
        "\x93"},
    {2, "\xd3"
        "\x95"},
    {2, "\xd3"
        "\x95"},
    {2, "\xd3"
        "\x97"},
    {2, "\xd3"
        "\x97"},
    {2, "\xd3"
        "\x99"},
    {2, "\xd3"
        "\x99"},
    {2, "\xd3"
        "\x9b"},
    {2, "\xd3"
        "\x9b"},
    {2, "\xd3"
        "\x9d"},
    {2, "\xd3"
        "\x9d"},
    {2, "\xd3"
        "\x9f"},
    {2, "\xd3"
        "\x9f"},
    {2, "\xd3"
        "\xa1"},
    {2, "\xd3"
        "\xa1"},
    {2, "\xd3"
        "\xa3"},
    {2, "\xd3"
        "\xa3"},
    {2, "\xd3"
        "\xa5"},
    {2, "\xd3"
        "\xa5"},
    {2, "\xd3"
        "\xa7"},
    {2, "\xd3"
        "\xa7"},
    {2, "\xd3"
        "\xa9"},
    {2, "\xd3"
        "\xa9"},
    {2, "\xd3"
        "\xab"},
    {2, "\xd3"
        "\xab"},
    {2, "\xd3"
        "\xad"},
    {2, "\xd3"
        "\xad"},
    {2, "\xd3"
        "\xaf"},
    {2, "\xd3"
        "\xaf"},
    {2, "\xd3"
        "\xb1"},
    {2, "\xd3"
        "\xb1"},
    {2, "\xd3"
        "\xb3"},
    {2, "\xd3"
        "\xb3"},
    {2, "\xd3"
        "\xb5"},
    {2, "\xd3"
        "\xb5"},
    {2, "\xd3"
        "\xb7"},
    {2, "\xd3"
        "\xb7"},
    {2, "\xd3"
        "\xb9"},
    {2, "\xd3"
        "\xb9"},
    {2, "\xd3"
        "\xbb"},
    {2, "\xd3"
        "\xbb"},
    {2, "\xd3"
        "\xbd"},
    {2, "\xd3"
        "\xbd"},
    {2, "\xd3"
        "\xbf"},
    {2, "\xd3"
        "\xbf"},
};
static const fold_entry_t s_fold_latin_additional[0x1EFF - 0x1E00 + 1] = {
    {1, "a"},
    {1, "a"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {1, "b"},
    {1, "c"},
    {1, "c"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "d"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "f"},
    {1, "f"},
    {1, "g"},
    {1, "g"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "h"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "k"},
    {1, "k"},
    {1, "k"},
    {1, "k"},
    {1, "k"},
    {1, "k"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "l"},
    {1, "m"},
    {1, "m"},
    {1, "m"},
    {1, "m"},
    {1, "m"},
    {1, "m"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "n"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "p"},
    {1, "p"},
    {1, "p"},
    {1, "p"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "r"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "s"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "t"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "v"},
    {1, "v"},
    {1, "v"},
    {1, "v"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "w"},
    {1, "x"},
    {1, "x"},
    {1, "x"},
    {1, "x"},
    {1, "y"},
    {1, "y"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "z"},
    {1, "h"},
    {1, "t"},
    {1, "w"},
    {1, "y"},
    {3, "\xe1"
        "\xba"
        "\x9a"},
    {1, "s"},
    {3, "\xe1"
        "\xba"
        "\x9c"},
    {3, "\xe1"
        "\xba"
        "\x9d"},
    {2, "ss"},
    {3, "\xe1"
        "\xba"
        "\x9f"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "a"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "e"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "i"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "o"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "u"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {1, "y"},
    {3, "\xe1"
        "\xbb"
        "\xbb"},
    {3, "\xe1"
        "\xbb"
        "\xbb"},
    {3, "\xe1"
        "\xbb"
        "\xbd"},
    {3, "\xe1"
        "\xbb"
        "\xbd"},
    {3, "\xe1"
        "\xbb"
        "\xbf"},
    {3, "\xe1"
        "\xbb"
        "\xbf"},
};

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
