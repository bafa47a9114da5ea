"""Address text made comparable: one normal form for what a town imports and what a citizen types, and the
score that orders the gazetteer's candidates for a query.

"12 Evergreen Terr.", "12 evergreen terrace" and "12 EVERGREEN TER" must be the same text, and "St-Laurent"
the same as "Saint-Laurent", so both the stored `search_text` and every query go through `normalised`.
The score compares the street's own name words (not "street", "avenue" or a direction, which half the
town shares) by trigrams, as PostgreSQL's pg_trgm makes them, so a typo costs a little and not everything.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# English and French abbreviations of street types, as towns' files and citizens write them.
ABBREVIATIONS = {
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "blvd": "boulevard",
    "bd": "boulevard",
    "boul": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "terr": "terrace",
    "ter": "terrace",
    "tce": "terrace",
    "ct": "court",
    "crt": "court",
    "pl": "place",
    "hwy": "highway",
    "pkwy": "parkway",
    "cres": "crescent",
    "cir": "circle",
    "sq": "square",
    "aly": "alley",
    "ch": "chemin",
    "rte": "route",
    "mtee": "montee",
    "imp": "impasse",
    "prom": "promenade",
}
# Words that say what kind of way it is, or which end of it: not what tells one street from another.
STREET_TYPES = frozenset(ABBREVIATIONS.values()) | {"street", "rue", "way", "trail", "row", "allee", "quai"}
ENGLISH_DIRECTIONS = {"n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west"}
DIRECTIONS = frozenset(ENGLISH_DIRECTIONS | {"nord", "sud", "est", "ouest"})
GENERIC = STREET_TYPES | DIRECTIONS
HOUSE_NUMBER = re.compile(r"^\d+[a-z]?$")  # 12, 12a; not 1st or 2nd, which name streets
NOT_A_WORD = re.compile(r"[^\w]+|_")


def _plain(text: str) -> str:
    """Lower case without accents; anything but letters and digits becomes a space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(character for character in decomposed if not unicodedata.combining(character))
    return NOT_A_WORD.sub(" ", bare)


def normalised(text: str) -> str:
    """The searchable form of an address or a query: "12 Evergreen Terr." -> "12 evergreen terrace".

    "St" is "saint" where a name follows it at the start of the street's name ("12 St-Laurent Blvd",
    "rue St-Denis"), and "street" elsewhere ("Main St", "Main St N"); "Ste" likewise "sainte"."""
    words = _plain(text).split()
    expanded: list[str] = []
    for position, word in enumerate(words):
        following = words[position + 1] if position + 1 < len(words) else ""
        starts_name = position == 0 or HOUSE_NUMBER.match(expanded[-1]) or expanded[-1] in STREET_TYPES
        names_next = following.isalpha() and following not in GENERIC and following not in ABBREVIATIONS
        if word in ("st", "ste") and starts_name and names_next:
            expanded.append("saint" if word == "st" else "sainte")
        elif word == "st":
            expanded.append("street")
        else:
            expanded.append(ABBREVIATIONS.get(word, word))
    return " ".join(expanded)


@dataclass(frozen=True)
class AddressText:
    """A normalised address taken apart: its house number, the words that name the street, the rest."""

    text: str
    number: str
    street: str  # the text without its house number
    name: tuple[str, ...]
    generic: tuple[str, ...]

    @property
    def name_text(self) -> str:
        return " ".join(self.name)


def parsed(text: str) -> AddressText:
    """`text` is already normalised. The house number is the first word (or the last, as some write it)."""
    words = text.split()
    number = ""
    if words and HOUSE_NUMBER.match(words[0]):
        number, words = words[0], words[1:]
    elif len(words) > 1 and HOUSE_NUMBER.match(words[-1]):
        number, words = words[-1], words[:-1]
    name = tuple(word for word in words if word not in GENERIC)
    generic = tuple(word for word in words if word in GENERIC)
    return AddressText(text, number, " ".join(words), name, generic)


def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigrams: each word padded with two spaces before and one after."""
    return _grams(text, 3)


def _grams(text: str, size: int) -> frozenset[str]:
    found: set[str] = set()
    for word in text.split():
        padded = " " * (size - 1) + word + " "
        found.update(padded[index : index + size] for index in range(len(padded) - size + 1))
    return frozenset(found)


class Matcher:
    """What was typed, taken apart once, compared with many candidates."""

    def __init__(self, query: AddressText) -> None:
        self.query = query
        typed = self._compared(query)
        self._wanted = (_grams(typed, 2), _grams(typed, 3))
        self._initials = {word[0] for word in typed.split()}

    def _compared(self, address: AddressText) -> str:
        """The street's own name words; when none was typed (a number alone, only "rue"), the whole text."""
        return address.name_text if self.query.name else address.text

    def could_name(self, text: str) -> bool:
        """A first look, cheap enough for every street of a city: a word of `text` (normalised) begins as
        a typed word does. A typo rarely takes a name's first letter."""
        return any(word[0] in self._initials for word in text.split())

    def name_similarity(self, candidate: AddressText) -> float:
        """From 0 to 1: how much of the typed name the candidate's name holds (a name typed halfway
        counts), and a little of how alike the two are overall (so "Main" prefers "Main Street" to
        "Mainland Road"). Half by trigrams, half by pairs of letters: two letters swapped ("pirere" for
        "pierre") leave few trigrams in place, but most pairs."""
        found = self._compared(candidate)
        total = 0.0
        for size, wanted in zip((2, 3), self._wanted, strict=True):
            if not wanted:
                return 0.0
            held = _grams(found, size)
            shared = len(wanted & held)
            total += 0.35 * shared / len(wanted) + 0.15 * shared / len(wanted | held)
        return total

    def score(self, candidate: AddressText, is_street: bool) -> float:
        """The name first; then the typed house number, worth more than any difference of names a typo
        makes; then whether the street types and directions typed are the candidate's, and a street before
        the addresses on it."""
        total = self.name_similarity(candidate)
        if self.query.number and candidate.number == self.query.number:
            total += 0.3
        if self.query.generic and set(self.query.generic) <= set(candidate.generic):
            total += 0.05
        return total + (0.01 if is_street else 0.0)
