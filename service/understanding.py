"""Reading a planner's message: which space types and themes it names (German and English).

Matching is lexical on purpose: the space type changes which solutions fit, so it must be
recognised reliably ("Fußgängerzonen", "Gewerbegebietsflächen", "im Kiez", "business park"),
and it must be explainable. Synonyms live in the taxonomy, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein

from indexer.places import SIZE_BOUNDS, laender_of, size_class
from indexer.text import fold, strip_accents

TOKEN = re.compile(r"[a-z0-9]+")
WORD = re.compile(r"\w+")  # a word as the conversation splits a message
# A synonym this long also matches as the head of a compound ("Wohnquartier" ← "quartier").
MIN_SUFFIX_MATCH = 8
# Shorter synonyms must match a whole word (plus a plural/case ending) – "City" but not "Citrus".
MIN_PREFIX_MATCH = 6
ENDINGS = ("", "s", "n", "e", "en", "es", "er", "ern")
WORD_CACHE_SIZE = 1 << 16  # words whose space-type and theme matches are kept (least recently used dropped)
SIDE_WORDS = ("seite", "bereich", "thema", "themen", "aspekt", "aspekte", "sachen", "fragen", "prozesse", "prozessen",
              "formate", "formaten", "projekte", "projekten")
MIN_TYPO_MATCH = 9  # synonyms this long also match with one letter wrong, missing, extra or swapped
# Compounds that end in a space-type word but are not about that space type.
FALSE_HEADS = ("rechenzentrum", "datenzentrum", "gesundheitszentrum", "rechenzentren", "bildungszentrum", "logistikzentrum",
               "ansiedlung", "ansiedlungen", "firmenansiedlung", "gewerbeansiedlung", "betriebsansiedlung")


def _variants(text: str) -> set[str]:
    """The folded text, plus the same with umlauts dropped ("fussgangerzone") as people also type."""
    return {fold(text), strip_accents(text)}


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]

    def matches(self, tokens: list[str], whole_words: bool = False) -> bool:
        n = len(self.words)
        for i in range(len(tokens) - n + 1):
            window = tokens[i : i + n]
            if window[:-1] != list(self.words[:-1]):
                continue
            if _word_matches(window[-1], self.words[-1], n == 1, whole_words):
                return True
        return False


def _word_matches(token: str, word: str, single: bool, whole_words: bool = False) -> bool:
    """Whether a token of the text is this synonym word (with ``whole_words``: give or take an inflection ending)."""
    if token in FALSE_HEADS:
        return False
    if any(token == word + ending for ending in ENDINGS):
        return True
    if whole_words:  # "Energieseite", "Verkehrsthemen": a theme word and a word for its side of things
        return any(token == word + ending + part for ending in ENDINGS for part in SIDE_WORDS)
    if len(word) >= MIN_PREFIX_MATCH and token.startswith(word):
        return True  # inflections and compounds with the word in front: "innenstadtleerstand"
    if single and len(word) >= MIN_SUFFIX_MATCH and any(token.endswith(word + ending) for ending in ENDINGS):
        return True
    # One typo in a long word: "Innenstat", "Gewerbgebiet", "Neubaugbiet".
    return len(word) >= MIN_TYPO_MATCH and DamerauLevenshtein.distance(token, word, score_cutoff=1) <= 1


MIN_COMPOUND_HEAD = 5  # a theme name this long may lead a compound ("Tourismuslenkung"); "Luftbild" does not count
MIN_COMPOUND_REST = 4


def _leads_compound(token: str, word: str) -> bool:
    """Whether a theme's name leads this compound, with or without a linking s ("Sicherheitsgefühl")."""
    return len(word) >= MIN_COMPOUND_HEAD and token.startswith(word) and len(token) - len(word) >= MIN_COMPOUND_REST


class Understanding:
    """Detects the space types and themes a text names, using the taxonomy's labels and synonyms."""

    def __init__(self, taxonomy: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.space_types = self._compile(taxonomy.get("space_types", {}))
        self.themes = self._compile(taxonomy.get("themes", {}))
        # A theme named as a whole ("Energie", "health"), not by one of its synonyms ("Sensoren", "Senioren").
        self.theme_names = self._compile({slug: {"label": entry.get("label", ""), "synonyms": entry.get("names", [])}
                                          for slug, entry in taxonomy.get("themes", {}).items()})
        self._tables = {"space_types": self.space_types, "themes": self.themes, "theme_names": self.theme_names}
        self.statuses = {slug: _word_starts(entry) for slug, entry in taxonomy.get("status", {}).items()}
        # A word's one-word matches are kept: the same words come back turn after turn (the topic is searched again
        # with each refinement).
        self._one_word_matches = lru_cache(maxsize=WORD_CACHE_SIZE)(self._one_word_slugs)

    @staticmethod
    def _compile(entries: dict[str, dict[str, Any]]) -> dict[str, list[_Term]]:
        compiled: dict[str, list[_Term]] = {}
        for slug, entry in entries.items():
            names = [slug.replace("_", " "), str(entry.get("label", "")), str(entry.get("short", ""))]
            names += [str(s) for s in entry.get("synonyms", []) or []]
            terms = {
                tuple(TOKEN.findall(variant))
                for name in names if name.strip()
                for variant in _variants(name)
            }
            compiled[slug] = [_Term(words) for words in sorted(terms) if words]
        return compiled

    @staticmethod
    def _tokens(text: str) -> list[list[str]]:
        return [TOKEN.findall(variant) for variant in _variants(text)]

    def _detect(self, kind: str, text: str, whole_words: bool = False) -> list[str]:
        token_lists = self._tokens(text)
        # One-word synonyms (most of them) are looked up per distinct word; longer ones are matched in the text.
        found = {slug for tokens in token_lists for token in set(tokens)
                 for slug in self._one_word_matches(kind, token, whole_words)}
        return [slug for slug, terms in self._tables[kind].items()
                if slug in found or any(term.matches(tokens, whole_words) for term in terms if len(term.words) > 1
                                        for tokens in token_lists)]

    def _one_word_slugs(self, kind: str, token: str, whole_words: bool) -> frozenset[str]:
        """The entries of a table (space types or themes) that a one-word synonym of matches this word."""
        return frozenset(slug for slug, terms in self._tables[kind].items()
                         if any(len(t.words) == 1 and _word_matches(token, t.words[0], True, whole_words) for t in terms))

    def detect_space_types(self, text: str) -> list[str]:
        """Space types the text names, in taxonomy order."""
        return self._detect("space_types", text)

    def detect_themes(self, text: str, whole_words: bool = False) -> list[str]:
        """Themes the text names by label or synonym, in taxonomy order.

        With ``whole_words``, only whole words count (plus an inflection ending): "Klimaanpassung" and "Tourismus-Sachen"
        name a theme, but "Fahrgemeinschaften" does not name Gemeinschaft, nor "Wasserstoff" Wasser.
        """
        return self._detect("themes", text, whole_words)

    def detect_theme_names(self, text: str, compounds: bool = False) -> list[str]:
        """Themes the text names as a whole, by label or one of its ``names`` (whole words, "Energieseite" too): what
        a follow-up that changes the theme says ("eher was zum Thema Energie"), unlike one that names a kind of
        solution ("gibt es da was mit Sensoren?"). With ``compounds``, also a compound a name leads
        ("Tourismuslenkung", "Sicherheitsgefühl"): for a message that says it is about a theme."""
        found = self._detect("theme_names", text, whole_words=True)
        if found or not compounds:
            return found
        tokens = {token for variant in self._tokens(text) for token in variant}
        return [slug for slug, terms in self.theme_names.items()
                if any(_leads_compound(token, term.words[0]) for term in terms if len(term.words) == 1 for token in tokens)]

    def facet_words(self, text: str) -> frozenset[str]:
        """The words of a text (lower-case, as written) that name a space type or theme, alone or as part of a longer
        synonym ("city centre", "ärztliche Versorgung"): what is left besides them tells a filter from a new topic."""
        words = WORD.findall(text.lower())
        named: set[str] = set()
        for tokens in ([fold(w) for w in words], [strip_accents(w) for w in words]):
            for i, token in enumerate(tokens):
                if self._one_word_matches("space_types", token, False) or self._one_word_matches("themes", token, True):
                    named.add(words[i])
            for table in self._tables.values():
                for term in (term for terms in table.values() for term in terms if len(term.words) > 1):
                    n = len(term.words)
                    named.update(w for i in range(len(tokens) - n + 1) if term.matches(tokens[i : i + n])
                                 for w in words[i : i + n])
        return frozenset(named)

    def detect_status(self, text: str) -> str | None:
        """The implementation status a text asks for ("welche davon sind erst Ideen?" → idee), the first-named if it
        names several ("running permanently, not just pilots" → verstetigt). A status named only to be negated
        ("nicht mehr nur im Test", "über die Testphase raus") asks for the one after it: regular operation."""
        found: list[tuple[int, str]] = []
        negated = False
        for variant in _variants(text):
            for slug, pattern in self.statuses.items():
                for match in pattern.finditer(variant):
                    before = variant[: match.start()]
                    if STUCK_AT.search(before):
                        found.append((match.start(), slug))  # "never got beyond the concept stage": still an idea
                    elif NEGATED_STATUS.search(before) or NOT_WANTED.match(variant[match.end():]):
                        negated = True
                    else:
                        found.append((match.start(), slug))
        if found:
            named = {slug for _, slug in found}
            if {"umsetzung", "verstetigt"} <= named:
                return "verstetigt"  # "schon umgesetzt und laufen dauerhaft": implemented and now in regular operation
            return min(found)[1]
        return "verstetigt" if negated else None


# "nicht mehr nur im Test", "not just a pilot", "über die Testphase raus": the status named next is ruled out.
NEGATED_STATUS = re.compile(r"\b(nicht (mehr )?(nur|bloss|bloß)|kein\w*|not (just|only|merely)|no longer|ueber|über|uber|beyond|"
                            r"raus aus|hinaus|past)\s+(\w+\s+){0,2}$")


# "never got beyond the concept stage", "nie über die Planung hinausgekommen": the status named is where they stayed.
STUCK_AT = re.compile(r"\b(never|not|nie|nicht)\s+(\w+\s+){0,2}(beyond|past|über|ueber|uber)\s+(\w+\s+){0,2}$")
# "reine Planungen interessieren mich weniger", "pilots don't interest me": the status just named is not wanted.
NOT_WANTED = re.compile(r"\w*\s+(\w+\s+)?(interessier\w* (mich|uns) (weniger|nicht|kaum)|(sind|ist) (mir |uns )?(egal|uninteressant)|"
                        r"brauch\w* (ich|wir) nicht|(don'?t|do not) interest|(are|is) less (interesting|relevant))")


def _word_starts(entry: dict[str, Any]) -> re.Pattern[str]:
    """A pattern for the label and synonyms of a taxonomy entry, each at the start of a word (inflections follow)."""
    names = [str(entry.get("label", "")), *(str(s) for s in entry.get("synonyms", []) or [])]
    words = sorted({variant for name in names if name.strip() for variant in _variants(name)}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")")


# ---- what a planner says about their municipality ("wir sind eine Gemeinde mit 8000 Einwohnern in Bayern") ----

_LAND_NAMES = {
    "Baden-Württemberg": ("baden-württemberg", "baden-wuerttemberg", "bw"), "Bayern": ("bayern", "bavaria", "bayerisch"),
    "Berlin": ("berlin",), "Brandenburg": ("brandenburg",), "Bremen": ("bremen",), "Hamburg": ("hamburg",),
    "Hessen": ("hessen", "hesse", "hessisch"), "Mecklenburg-Vorpommern": ("mecklenburg-vorpommern", "mv"),
    "Niedersachsen": ("niedersachsen", "lower saxony", "niedersächsisch"),
    "Nordrhein-Westfalen": ("nordrhein-westfalen", "nrw", "north rhine-westphalia"),
    "Rheinland-Pfalz": ("rheinland-pfalz", "rhineland-palatinate"), "Saarland": ("saarland",),
    "Sachsen-Anhalt": ("sachsen-anhalt", "saxony-anhalt"), "Sachsen": ("sachsen", "saxony", "sächsisch"),
    "Schleswig-Holstein": ("schleswig-holstein",), "Thüringen": ("thüringen", "thuringia", "thüringisch"),
}
_INHABITANTS = re.compile(r"(\d{1,3}(?:[.,\s]\d{3})+|\d+)\s*(tausend|000)?\s*(?:einwohner|einwohnerinnen|ew\b|inhabitants|"
                          r"people|menschen|residents)", re.I)
_THOUSANDS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:tsd\.?|tausend|k)\s*(?:einwohner|ew\b|inhabitants|menschen)?", re.I)
# "unter 30.000 Einwohnern", "bis 50k", "über 100.000": a bound, so every size class on that side of it fits.
_UP_TO = re.compile(r"\b(unter|bis( zu)?|weniger als|höchstens|maximal|max\.?|kleiner als|under|below|up to|less than|"
                    r"fewer than)\W*$", re.I)
_FROM = re.compile(r"\b(über|mehr als|ab|mindestens|größer als|over|above|more than|at least)\W*$", re.I)
_SIZE_WORDS = (
    ("region", re.compile(r"\b(land)?kreis|\bregion\b|\bcounty\b|\bdistrict\b", re.I)),
    ("kleinstadt", re.compile(r"\b(kleinstadt|gemeinde|dorf|ländlich|laendlich|kleine stadt|village|small town|rural|"
                              r"kleiner\w* (kommunen|städte|gemeinden|orte)|small(er)? (municipalit|towns))", re.I)),
    ("mittelstadt", re.compile(r"\b(mittelstadt|mittelgroße stadt|mid-sized|medium-sized)", re.I)),
    ("grossstadt", re.compile(r"\b(großstadt|grossstadt|metropole|big city|large city)", re.I)),
)


@dataclass(frozen=True)
class Preference:
    """The Land and size classes a planner's municipality has (or the municipalities they look for), as far as they
    said so: one class for "wir sind 8000 Einwohner", several for a bound ("Städte unter 50.000 Einwohnern")."""

    land: str | None = None
    size_classes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.land or self.size_classes)

    def fit(self, record: Any) -> int:
        """How many of the two a record shares (0–2)."""
        return int(bool(self.land) and self.land in laender_of(record["state"])) + \
            int(record.get("size_class") in self.size_classes)


def _classes_for(number: int, before: str) -> tuple[str, ...]:
    """The size classes ``number`` inhabitants mean, or (after "unter", "über", …) all classes on that side of it."""
    if _UP_TO.search(before):
        return tuple(name for name, low, _ in SIZE_BOUNDS if low < number)
    if _FROM.search(before):
        return tuple(name for name, _, below in SIZE_BOUNDS if below > number)
    return (size_class(number),)


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return next(reversed(list(pattern.finditer(text))), None)


def municipality_preference(text: str) -> Preference:
    """Land and size classes from what a planner said about their municipality (numbers win over words, the last
    number over earlier ones)."""
    low = text.casefold()
    land = next((name for name, words in _LAND_NAMES.items()
                 if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low) for w in words)), None)
    classes: tuple[str, ...] = ()
    # The last number counts: the context adds each statement at its end ("… unter 10.000 Einwohnern? bitte nur
    # Städte unter 50.000 Einwohnern").
    if match := _last(_INHABITANTS, text):
        number = int(re.sub(r"[.,\s]", "", match.group(1))) * (1000 if match.group(2) and match.group(2).lower() == "tausend" else 1)
        classes = _classes_for(number, text[:match.start()])
    elif match := _last(_THOUSANDS, text):
        classes = _classes_for(int(float(match.group(1).replace(",", ".")) * 1000), text[:match.start()])
    else:
        classes = next(((name,) for name, pattern in _SIZE_WORDS if pattern.search(text)), ())
    if classes != ("region",) and re.search(r"\b(land)?kreis\b|\bcounty\b", low):
        classes = ("region",)
    return Preference(land, classes)
