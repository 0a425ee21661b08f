"""Person names reduced to a comparable key: what two sources agree on when they mean one person.

Sources spell one player differently: "Luka Dončić" / "Luka Doncic", "Jabari Smith Jr." /
"Jabari Smith Jr", "P.J. Washington" / "PJ Washington", "De’Aaron Fox" / "De'Aaron Fox",
"Shai Gilgeous-Alexander" / "Shai Gilgeous Alexander". `name_key` folds those differences
away. The generational suffix (Jr., Sr., II, III, IV) is kept apart rather than dropped: a
father and son share every other token (Kenyon Martin / Kenyon Martin Jr.), so a match that
ignores the suffix is weaker evidence and the resolver treats it so.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})

# Letters NFKD does not decompose into a base letter plus marks.
_UNDECOMPOSABLE = str.maketrans({"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ı": "i",
                                 "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "þ": "th", "ð": "d"})
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class NameKey:
    """A name as comparable tokens: `base` ("jabari smith") and `suffix` ("jr", or "")."""
    base: str
    suffix: str = ""

    @property
    def full(self) -> str:
        return f"{self.base} {self.suffix}" if self.suffix else self.base


def fold_diacritics(text: str) -> str:
    """"Dončić" → "Doncic", "Porziņģis" → "Porzingis", "Jokić" → "Jokic"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(name: str) -> list[str]:
    """Lower-case ASCII tokens. Apostrophes join ("De'Aaron" → "deaaron"); every other
    punctuation separates ("Gilgeous-Alexander" → "gilgeous alexander"); runs of single
    letters are initials and join ("P.J." and "P. J." → "pj")."""
    folded = _APOSTROPHES.sub("", fold_diacritics(name).lower())
    joined: list[str] = []
    previous_was_letter = False
    for token in (t for t in _SEPARATORS.split(folded) if t):
        is_letter = len(token) == 1
        if is_letter and previous_was_letter:
            joined[-1] += token
        else:
            joined.append(token)
        previous_was_letter = is_letter
    return joined


def name_key(name: str) -> NameKey:
    """The comparable key of a name; a trailing suffix is split off when a name remains."""
    parts = tokens(name)
    if len(parts) >= 3 and parts[-1] in SUFFIXES:
        return NameKey(" ".join(parts[:-1]), parts[-1])
    return NameKey(" ".join(parts))
