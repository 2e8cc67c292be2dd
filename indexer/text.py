"""German text analysis for lexical matching: folding, decompounding, stemming, typo correction.

The same analyser runs at index time (over records) and at query time (over questions), so
"Fussgaengerzone", "Fußgängerzonen" and "Fußgänger-Zone" all meet on the same terms.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from rapidfuzz import distance, process

from indexer.compounds import best_split

WORD = re.compile(r"[a-zäöüß0-9]+")
# Compounds shorter than this are rarely worth splitting and often split wrongly.
MIN_COMPOUND = 10
MIN_RECURSIVE = 12  # parts are split again only if long: "innenstadt" stays whole
MIN_PART = 4
# CharSplit's score for a real split is usually above this; below it the split is noise.
SPLIT_THRESHOLD = -0.65
MIN_CORRECTED = 5  # shorter unknown terms are left alone: too many neighbours one edit away
STOPWORDS = frozenset(
    """aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin bis bisher bitte
    da damit dann das dass dem den denen der des die dies diese diesem diesen dieser dieses doch dort du durch
    ein eine einem einen einer eines er es etwa etwas euch euer für gegen gibt hat hatte hier ich ihr ihre im in
    ist ja jede jeder jetzt kann kein keine können könnte man mehr mit muss müssen nach nicht noch nun nur ob oder
    ohne sehr sich sie sind so soll sollen sollte sondern um und uns unser unsere unserem unseren unserer von vor
    war was weil welche wenn wer werden wie wieder will wir wird wo wollen zu zum zur über
    a an and are as at be by for from how in into is it of on or our that the their there this to we what
    with""".split()
)

_stemmer = Stemmer.Stemmer("german")


# How people type umlauts without an umlaut key: written out (ä → ae, ß → ss) or dropped (ä → a, ß → s).
UMLAUTS_WRITTEN_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
UMLAUTS_DROPPED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U", "ß": "s"})


def stem(word: str) -> str:
    """The German stem of a word ("Plattformen" → "plattform")."""
    return str(_stemmer.stemWord(fold(word)))


def fold(text: str) -> str:
    """Lower-case, NFKC, and umlauts/ß written out (ä → ae, ß → ss) as people type without them."""
    return unicodedata.normalize("NFKC", text).lower().translate(UMLAUTS_WRITTEN_OUT)


def strip_accents(text: str) -> str:
    """Lower-case with ß → ss and every diacritic removed ("Fußgängerzone" → "fussgangerzone")."""
    plain = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower().replace("ß", "ss"))
    return "".join(c for c in plain if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def split_compound(word: str, min_length: int = MIN_COMPOUND) -> tuple[str, ...]:
    """Parts of a German compound (long parts split again), or () if it is not confidently a compound."""
    if len(word) < min_length or word.isdigit():
        return ()
    best = best_split(word)
    if best is None:
        return ()
    score, head, tail = best
    if score < SPLIT_THRESHOLD or len(head) < MIN_PART or len(tail) < MIN_PART:
        return ()
    parts: list[str] = []
    for part in (head.lower(), tail.lower()):
        parts.extend(split_compound(part, MIN_RECURSIVE) or (part,))
    return tuple(parts)


@lru_cache(maxsize=65536)
def _terms_for(word: str) -> tuple[str, ...]:
    """Stemmed terms for one lower-case word: the word itself plus its compound parts."""
    terms = [stem(word)]
    for part in split_compound(word):
        if fold(part) not in STOPWORDS:
            terms.append(stem(part))
    return tuple(terms)


def analyze(text: str) -> list[str]:
    """Terms for BM25: words, then hyphenated parts and compound parts, folded and stemmed."""
    text = unicodedata.normalize("NFKC", text).lower()
    terms: list[str] = []
    for word in WORD.findall(text):
        if word in STOPWORDS or len(word) < 2:
            continue
        terms.extend(_terms_for(word))
    return terms


def correct(terms: list[str], vocabulary: list[str], known: set[str] | frozenset[str]) -> list[str]:
    """Unknown terms replaced by a corpus term one edit away (typo, swapped letters): "statteil" → "stadtteil".

    ``vocabulary`` is the corpus's analysed terms (the BM25 vocabulary) and ``known`` the same as a set.
    """
    corrected = []
    for term in terms:
        if term not in known and len(term) >= MIN_CORRECTED:
            match = process.extractOne(term, vocabulary, scorer=distance.DamerauLevenshtein.distance, score_cutoff=1)
            if match:
                term = match[0]
        corrected.append(term)
    return corrected
