"""What the guard matches against: the text as a reader sees it, not as its code points spell it.

`visible(text)` undoes the tricks that hide a trigger word from a regex but not from a model:
NFKC (fullwidth and styled letters, ligatures), format and control characters removed (zero-width
spaces and joiners, word joiner, BOM, soft hyphen, bidi embeddings, overrides and isolates, tag
characters), Cyrillic/Greek/IPA letters that look like Latin ones mapped to those (only inside words
that also hold a Latin letter or consist only of look-alikes, so that real Russian or Greek words
are not mangled more than a match needs), typographic quotes and dashes made ASCII, whitespace
collapsed (line breaks kept: some forms are anchored at a line start). `folded(text)` is the same,
case folded. Neither is ever stored or sent anywhere: they exist only to be matched.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKC leaves alone and that render like a Latin letter in common fonts.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ү": "y", "ѵ": "v",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "I",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "γ": "y", "ω": "w", "ς": "s",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin letters from IPA / small capitals that NFKC keeps
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ʀ": "r", "ɴ": "n", "ꜱ": "s", "ᴀ": "a", "ᴄ": "c",
    "ᴅ": "d", "ᴇ": "e", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ʏ": "y", "ɢ": "g", "ʜ": "h",
    # typography
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
}
_LOOKALIKE_CHARS = frozenset(c for c in _CONFUSABLES if c.isalpha())
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_WORD_RE = re.compile(r"\w+")
_HSPACE_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
_ASCII_CONTROLS_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SPACE_CONTROLS = str.maketrans({"\t": " ", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x0b": "\n", "\x0c": "\n",
                                 "\x85": "\n"})


def _strip_invisible(text: str) -> str:
    """Drop format (Cf: zero-width, bidi, soft hyphen, BOM, tags) and control (Cc) characters,
    variation selectors and combining marks that sit on nothing visible; tabs and breaks become spaces."""
    text = text.translate(_SPACE_CONTROLS)
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cc", "Cs", "Co", "Cn"):
            continue
        if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
            continue
        out.append(ch)
    return "".join(out)


def _map_lookalikes(text: str) -> str:
    """Map look-alike letters in words that mix them with Latin letters, or consist only of them."""
    if not any(c in _LOOKALIKE_CHARS for c in text):
        return text.translate(_CONFUSABLE_TABLE) if any(c in _CONFUSABLES for c in text) else text

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if not any(c in _LOOKALIKE_CHARS for c in w):
            return w
        others = [c for c in w if c.isalpha() and c not in _LOOKALIKE_CHARS]
        if all(c.isascii() for c in others):  # mixed with Latin, or look-alikes only
            return w.translate(_CONFUSABLE_TABLE)
        return w

    return _WORD_RE.sub(word, text).translate(
        str.maketrans({k: v for k, v in _CONFUSABLES.items() if not k.isalpha()}))


def visible(text: str) -> str:
    """NFKC, invisible characters dropped, look-alikes mapped, whitespace collapsed (case kept)."""
    if text.isascii():  # nothing to undo but control characters and spacing
        text = _ASCII_CONTROLS_RE.sub("", text.translate(_SPACE_CONTROLS))
        return _NEWLINES_RE.sub("\n", _HSPACE_RE.sub(" ", text)).strip()
    text = unicodedata.normalize("NFKC", text)
    text = _strip_invisible(text)
    # Strip combining marks that decorate Latin letters only to hide them (e.g. "i̇gnore"):
    # NFKD then drop Mn, but only where the base is ASCII.
    if any(unicodedata.combining(c) for c in text):
        decomposed = unicodedata.normalize("NFKD", text)
        kept, prev_ascii = [], False
        for c in decomposed:
            if unicodedata.combining(c) and prev_ascii:
                continue
            kept.append(c)
            prev_ascii = c.isascii() and c.isalpha()
        text = unicodedata.normalize("NFC", "".join(kept))
    text = _map_lookalikes(text)
    text = _NEWLINES_RE.sub("\n", _HSPACE_RE.sub(" ", text))
    return text.strip()


def folded(text: str) -> str:
    """`visible(text)` case folded."""
    return visible(text).casefold()


def plain(text: str) -> str:
    """Only the harmless differences undone (typographic quotes, whitespace, case): a text whose
    `folded` form equals this one was not disguised, so a vector of its raw form stands for it."""
    text = text.translate(str.maketrans({k: v for k, v in _CONFUSABLES.items() if not k.isalpha()}))
    text = text.translate(_SPACE_CONTROLS)
    return _NEWLINES_RE.sub("\n", _HSPACE_RE.sub(" ", text)).strip().casefold()
