#!/usr/bin/python3
"""gen_text_tables.py: writes common/text_tables.h, the folding tables of
text.c, from the Unicode Character Database (Debian's unicode-data package,
/usr/share/unicode). Python 3 and its standard library only.

    common/gen_text_tables.py [--ucd DIR] [-o FILE] [--allow-changes]

Without -o the tables go to stdout. tests/unit/test_text_tables.sh
regenerates them and compares with the checked-in file byte for byte.

What a code point folds to (text.h, text_fold_codepoint):
  - U+0300..U+036F (combining diacritical marks): nothing.
  - A letter spelled out in BASE_LETTERS: that string (letters with no
    decomposition that still have an obvious Latin base: "ß" -> "ss",
    "ø" -> "o", "ɛ" -> "e"; and MICRO SIGN -> mu, final sigma -> sigma).
  - In the Latin ranges, a letter, digit or space whose compatibility
    decomposition (NFKD) without its combining marks (Mn), lower-cased, is
    ASCII: that ASCII ("É" -> "e", "ǆ" -> "dz", superscript two -> "2",
    U+00A0 -> " ").
  - Anything else: its simple lowercase mapping (UnicodeData.txt), or
    itself. Greek and Cyrillic thus keep their accents ("Ά" -> "ά").

The index on disk holds words folded with these tables, so a new Unicode
version must not change how existing text folds: code points assigned
after Unicode 14.0 (the version the tables were first made from) fold to
themselves, as they did while unassigned, and the script refuses to write
tables whose entries differ from the Unicode 14 ones (FROZEN_SHA256, the
digest of the hand-kept tables this script replaced) unless given
--allow-changes, which is for seeing what changed. It reproduces those
tables from Unicode 14.0.0 data (Python 3.11's unicodedata written out as
UnicodeData.txt) and from Debian 12's Unicode 15.0.0 data alike: 15.0
assigned nothing in these ranges and changed no category, decomposition
or lowercase mapping of a character assigned in 14.0.
"""
import argparse
import hashlib
import os
import re
import sys

FROZEN_AT = (14, 0)
# SHA-256 of "XXXX hex\n" per code point (its number, its folded bytes) over
# the tables in order, as the Unicode 14 tables had them.
FROZEN_SHA256 = (
    "64976e1e4e3c4d74162a57d77d74c903c7e2bff985a35b112309336ec4df94d5")

# (C name, first, last, what the range holds): text.c looks these up by
# range, so changing one means changing text_fold_codepoint too.
TABLES = [
    ("s_fold_latin", 0x00A0, 0x02AF,
     "Latin-1, Latin Extended-A and -B, IPA Extensions"),
    ("s_fold_greek_cyrillic", 0x0300, 0x04FF,
     "combining marks (dropped), Greek and Coptic, Cyrillic"),
    ("s_fold_latin_additional", 0x1E00, 0x1EFF, "Latin Extended Additional"),
]
MARKS = (0x0300, 0x036F)
LATIN = [(0x00A0, 0x02AF), (0x1E00, 0x1EFF)]

# Letters without a decomposition to their base letter: what each folds to,
# then the letters that do. The choice is the Unicode 14 tables' and stays
# so (capital and small do not always agree: "Ʌ" -> "v" but "ʌ" stays).
BASE_LETTERS = {
    "a": "Ⱥɐɑɒ",
    "ae": "Ææ",
    "b": "ƀƁƂƃɃɓ",
    "c": "ƇƈȻȼɕ",
    "d": "ÐðĐđƉƊƋƌȡɖɗ",
    "db": "ȸ",
    "e": "ƎƏƐǝɆɇɘəɚɛɜɝɞ",
    "f": "Ƒƒ",
    "g": "ƓǤǥɠɡɢ",
    "h": "Ħħɦ",
    "hv": "ƕǶ",
    "i": "ıƖƗɨɩɪ",
    "j": "ȷɈɉɟ",
    "k": "ĸƘƙ",
    "l": "ĿŀŁłƚȴȽɫɬɭ",
    "m": "Ɯɯɱ",
    "n": "ŉŊŋƝƞȠȵɲɳɴ",
    "o": "ØøƆƟɔɵ",
    "oe": "Œœɶ",
    "oi": "Ƣƣ",
    "ou": "Ȣȣ",
    "p": "Ƥƥ",
    "q": "Ɋɋ",
    "qp": "ȹ",
    "r": "ƦɌɍɹɺɻɼɽɾʀ",
    "s": "ȿʂ",
    "ss": "ßẞ",
    "t": "ŦŧƫƬƭƮȶȾʈ",
    "th": "Þþ",
    "u": "ƱɄʉ",
    "v": "ƲɅʋ",
    "w": "Ƿ",
    "y": "ƳƴɎɏʏ",
    "z": "ƵƶȤȥɀʐʑ",
    "\u03bc": "\u00b5",  # MICRO SIGN -> GREEK SMALL LETTER MU
    "\u03c3": "\u03c2",  # GREEK SMALL LETTER FINAL SIGMA -> SIGMA
}


class Ucd:
    """The parts of the Unicode Character Database the tables use."""

    def __init__(self, directory):
        self.category = {}
        self.decomposition = {}
        self.lower = {}
        with open(os.path.join(directory, "UnicodeData.txt"),
                  encoding="utf-8") as f:
            for line in f:
                fields = line.rstrip("\n").split(";")
                cp = int(fields[0], 16)
                # Ranges (<CJK Ideograph, First>..) lie outside our tables.
                self.category[cp] = fields[2]
                if fields[5]:
                    # "<compat> 0020 0308": NFKD ignores the tag.
                    self.decomposition[cp] = [
                        int(x, 16) for x in fields[5].split()
                        if not x.startswith("<")]
                if fields[13]:
                    self.lower[cp] = int(fields[13], 16)
        self.age = {}
        path = os.path.join(directory, "DerivedAge.txt")
        with open(path, encoding="utf-8") as f:
            first = f.readline()
            for line in f:
                m = re.match(r"([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*"
                             r"(\d+)\.(\d+)", line)
                if m:
                    lo = int(m.group(1), 16)
                    hi = int(m.group(2) or m.group(1), 16)
                    for cp in range(lo, hi + 1):
                        self.age[cp] = (int(m.group(3)), int(m.group(4)))
        m = re.match(r"# DerivedAge-(\d+\.\d+\.\d+)\.txt", first)
        if not m:
            sys.exit("gen_text_tables: %s: no version on its first line"
                     % path)
        self.version = m.group(1)

    def nfkd(self, cp):
        """The full compatibility decomposition of cp (no Hangul here)."""
        if cp not in self.decomposition:
            return [cp]
        return [x for part in self.decomposition[cp] for x in self.nfkd(part)]


def in_ranges(cp, ranges):
    return any(lo <= cp <= hi for lo, hi in ranges)


def ascii_base(ucd, cp):
    """The ASCII that cp reads as without its marks, or None."""
    if ucd.category.get(cp, "Cn")[0] not in "LNZ":
        return None  # "¨" decomposes to a space and a mark: not a space
    base = "".join(chr(x) for x in ucd.nfkd(cp)
                   if ucd.category.get(x) != "Mn").lower()
    return base if base and base.isascii() else None


def fold(ucd, cp, spelled):
    """What cp folds to (a str), spelled being BASE_LETTERS by code point."""
    if MARKS[0] <= cp <= MARKS[1]:
        return ""
    age = ucd.age.get(cp)
    if age is None or age > FROZEN_AT:
        return chr(cp)
    if cp in spelled:
        return spelled[cp]
    if in_ranges(cp, LATIN):
        base = ascii_base(ucd, cp)
        if base is not None:
            return base
    return chr(ucd.lower.get(cp, cp))


def spelled_out(ucd):
    """BASE_LETTERS by code point, each checked to be needed."""
    spelled = {}
    ranges = [(lo, hi) for _, lo, hi, _ in TABLES]
    for folded, letters in BASE_LETTERS.items():
        for ch in letters:
            cp = ord(ch)
            if not in_ranges(cp, ranges) or cp in spelled:
                sys.exit("gen_text_tables: U+%04X: outside the tables or "
                         "listed twice" % cp)
            if ucd.category.get(cp, "Cn")[0] != "L":
                sys.exit("gen_text_tables: U+%04X: not a letter" % cp)
            if fold(ucd, cp, {}) == folded:
                sys.exit("gen_text_tables: U+%04X: folds to %r without "
                         "being spelled out" % (cp, folded))
            spelled[cp] = folded
    return spelled


def c_string(data):
    """data as a C string literal: printable ASCII as is, the rest \\xHH."""
    out = ""
    hex_before = False
    for b in data:
        ch = chr(b)
        if 0x20 <= b < 0x7F and ch not in "\"\\":
            if hex_before and ch in "0123456789abcdefABCDEF":
                out += '" "'  # a hex escape would swallow this digit
            out += ch
            hex_before = False
        else:
            out += "\\x%02x" % b
            hex_before = True
    return '"' + out + '"'


def label(ucd, cp):
    """A comment for cp's entry: its number, and its glyph if it has one."""
    category = ucd.category.get(cp, "Cn")
    if category[0] in "LNPS":
        return "U+%04X %s" % (cp, chr(cp))
    if category == "Cn":
        return "U+%04X unassigned" % cp
    return "U+%04X" % cp


def folded_tables(ucd):
    """Each table's (code point, folded UTF-8) entries, and whether they
    are those of the Unicode 14 tables."""
    spelled = spelled_out(ucd)
    tables = []
    digest = hashlib.sha256()
    for _, lo, hi, _ in TABLES:
        entries = []
        for cp in range(lo, hi + 1):
            data = fold(ucd, cp, spelled).encode("utf-8")
            if len(data) > 3:
                sys.exit("gen_text_tables: U+%04X folds to %d bytes"
                         % (cp, len(data)))
            entries.append((cp, data))
            digest.update(("%04X %s\n" % (cp, data.hex())).encode("ascii"))
        tables.append(entries)
    return tables, digest.hexdigest() == FROZEN_SHA256


def render(ucd, allow_changes):
    tables, unchanged = folded_tables(ucd)
    if not unchanged and not allow_changes:
        sys.exit("gen_text_tables: with Unicode %s the tables would fold "
                 "text differently from the Unicode 14 ones the index on "
                 "disk was built with; see which entries changed "
                 "(--allow-changes -o FILE, then diff FILE with "
                 "common/text_tables.h) and keep their old folding"
                 % ucd.version)
    newer = [cp for _, lo, hi, _ in TABLES for cp in range(lo, hi + 1)
             if ucd.age.get(cp, (0, 0)) > FROZEN_AT]
    out = []
    out.append("""\
/*  text_tables.h: the case and accent folding tables of text.c.

    GENERATED by common/gen_text_tables.py from Unicode %s data
    (Debian's unicode-data, /usr/share/unicode); do not edit, run the
    script. Private to text.c, which includes it once; text.h says what
    folding does and the script says how each entry is derived.

    The full-text index on disk holds words folded with these tables.
    %s
    Code points assigned after Unicode %d.%d fold to themselves, as they
    did while unassigned; in these ranges there are %s. */
#ifndef DOSSIER_TEXT_TABLES_H
#define DOSSIER_TEXT_TABLES_H

typedef struct {
    unsigned char len; /* bytes of s used, 0..3 */
    char s[4];
} fold_entry_t;
""" % (ucd.version,
       "Every entry is the one the Unicode 14 tables had (the script checks\n"
       "    their digest), so text indexed before folds as it did." if
       unchanged else
       "WARNING: entries differ from those of the Unicode 14 tables, so\n"
       "    indexed text would fold differently: rebuild indexes or pin them.",
       FROZEN_AT[0], FROZEN_AT[1],
       "none" if not newer else ", ".join("U+%04X" % cp for cp in newer)))
    for (name, lo, hi, what), folded in zip(TABLES, tables):
        entries = [("{%d, %s}," % (len(data), c_string(data)), label(ucd, cp))
                   for cp, data in folded]
        # clang-format aligns the comments one space past the widest entry.
        width = max(len(e) for e, _ in entries) + 1
        out.append("\n/* U+%04X..U+%04X: %s */\n" % (lo, hi, what))
        out.append("static const fold_entry_t %s[0x%X - 0x%X + 1] = {\n"
                   % (name, hi, lo))
        for entry, comment in entries:
            out.append("    %s/* %s */\n" % (entry.ljust(width), comment))
        out.append("};\n")
    out.append("\n#endif\n")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser(
        description="Writes the folding tables of common/text.c "
        "(common/text_tables.h) from the Unicode Character Database.")
    parser.add_argument("--ucd", default="/usr/share/unicode",
                        help="directory of UnicodeData.txt and "
                        "DerivedAge.txt (default: %(default)s)")
    parser.add_argument("-o", "--output", help="file to write (stdout)")
    parser.add_argument("--allow-changes", action="store_true",
                        help="write tables that fold differently from the "
                        "Unicode 14 ones (to see what changed)")
    args = parser.parse_args()
    text = render(Ucd(args.ucd), args.allow_changes)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
