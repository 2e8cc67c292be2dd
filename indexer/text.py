"""German text analysis for lexical matching: folding, decompounding, stemming, typo correction.

The same analyser runs at index time (over records) and at query time (over questions), so
"Fussgaengerzone", "Fußgängerzonen" and "Fußgänger-Zone" all meet on the same terms. ``Speller`` respells a
question's mistyped words the way the corpus spells them before the question is embedded.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources

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
MIN_RESPELLED = 7  # a question's unknown word this long may be respelled as a corpus word one edit away
SURFACE_WORD = re.compile(r"[^\W\d_]+")
UMLAUT = re.compile("[äöüß]")
# Words a planner puts in double quotes are meant as typed ("Search instead for" in web search): the speller leaves them.
QUOTED = re.compile(r'"[^"\n]*"|„[^“”"\n]*[“”"]|“[^”\n]*”|»[^«\n]*«|«[^»\n]*»')
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
# Function words of English and not of German: a question with more of them than German ones is read as English.
ENGLISH_WORDS = frozenset(
    """a and are as at be by can could do does for from have how into is it of on or our should that the their there
    these they this to we what when where which who why with would you your""".split()
)
GERMAN_WORDS = STOPWORDS - ENGLISH_WORDS - {"an", "in", "so", "will", "war", "man"}


def reads_english(words: Iterable[str]) -> bool:
    """Whether a question's words are more English than German, counted by function words."""
    lowered = [w.lower() for w in words]
    return sum(w in ENGLISH_WORDS for w in lowered) > sum(w in GERMAN_WORDS for w in lowered)

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

    ``vocabulary`` is the corpus's analysed terms (the BM25 vocabulary) in a fixed order, and ``known`` the same as a
    set. Of equally near terms the first in ``vocabulary`` is taken, so its order must not change from build to build.
    """
    corrected = []
    for term in terms:
        if term not in known and len(term) >= MIN_CORRECTED:
            match = process.extractOne(term, vocabulary, scorer=distance.DamerauLevenshtein.distance, score_cutoff=1)
            if match:
                term = match[0]
        corrected.append(term)
    return corrected


@lru_cache(maxsize=2)
def lexicon(language: str) -> frozenset[str]:
    """The word forms of ``language`` ("de": about 340,000, "en": about 160,000), lower-case: a word in one of them is
    spelled right, even if no record has it.

    The word lists of the PyPI package ``pyspellchecker`` (frequency lists from subtitles; only words seen 50 times or
    more), read once per process (0.4 s for both).
    """
    with resources.files("spellchecker").joinpath(f"resources/{language}.json.gz").open("rb") as packed:
        return frozenset(json.loads(gzip.decompress(packed.read())))


@lru_cache(maxsize=1)
def place_words() -> frozenset[str]:
    """The words of German, Austrian and Swiss place names ("harburg", "schleiz"), lower-case: about 15,000 words no
    dictionary has and planners type when they name their town (``indexer/data/place_names.txt``, from GeoNames)."""
    text = resources.files("indexer.data").joinpath("place_names.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


UMLAUTS_RESTORED = {"ae": "ä", "oe": "ö", "ue": "ü", "ss": "ß"}
MAX_READINGS = 8192  # words whose reading a Speller keeps (a word is respelled once, not on every question)
# A word typed in lower case is written as the corpus writes it inside a sentence when at least this share of its
# occurrences there has one form, capitalised or upper case: nouns ("leerstand" → "Leerstand"), acronyms ("öpnv" →
# "ÖPNV"); adjectives and verbs, capitalised only at a sentence's start, stay as typed, and so do words only a
# project's name writes in mixed case ("PARKing").
CASED_SHARE = 0.9
SENTENCE_PARTS = re.compile(r'[.!?:;"„“(–-]')  # a word after these (and spaces) starts a sentence, heading or quote


def cased_forms(texts: Iterable[str]) -> dict[str, str]:
    """Lower-cased word → the one form ``texts`` write it in inside their sentences, if not lower case (CASED_SHARE)."""
    inside: Counter[str] = Counter()
    for text in texts:
        for part in SENTENCE_PARTS.split(text):
            words = SURFACE_WORD.findall(part)
            inside.update(words[1:] if words and part.lstrip().startswith(words[0]) else words)
    forms: dict[str, Counter[str]] = {}
    for form, count in inside.items():
        forms.setdefault(form.lower(), Counter())[form] = count
    cased = {}
    for word, counts in forms.items():
        form, count = counts.most_common(1)[0]
        if form in (word.capitalize(), word.upper()) and form != word and count >= CASED_SHARE * counts.total():
            cased[word] = form
    return cased


def _quoted(text: str) -> set[int]:
    """The positions of ``text`` inside double quotes of any kind („…“, "…", “…”, »…«)."""
    return {i for match in QUOTED.finditer(text) for i in range(*match.span())}


def _umlauts_restored(word: str) -> Iterable[str]:
    """``word`` with some of its written-out umlauts put back ("faengt" → "fängt", "heiss" → "heiß")."""
    spots = [(m.start(), m.group(0)) for m in re.finditer("ae|oe|ue|ss", word)]
    for count in range(1, min(len(spots), 3) + 1):
        for chosen in itertools.combinations(spots, count):
            if any(b[0] - a[0] < 2 for a, b in itertools.pairwise(chosen)):
                continue  # overlapping ("uee")
            restored = word
            for start, pair in reversed(chosen):
                restored = restored[:start] + UMLAUTS_RESTORED[pair] + restored[start + 2:]
            yield restored


# Spoken short forms of "herein", "heraus", … that dictionaries lack in front of a verb ("reinbringen" is not a typo of
# "einbringen", "rausgehen" not of "ausgehen").
COLLOQUIAL_PREFIXES = ("rein", "raus", "rüber", "runter", "rauf", "ran", "rum", "drauf", "drüber", "drunter")
INFLECTIONS = ("s", "e", "n", "t")  # endings one word form may have and another lack ("Bürgerbüro(s)", "empfiehl(t)")


def _inflected(typed: str, known: str) -> bool:
    """Whether two folded words one letter apart are two forms of one word: a last letter an ending, not a typo."""
    shorter, longer = sorted((typed, known), key=len)
    return len(longer) == len(shorter) + 1 and longer.startswith(shorter) and longer[-1] in INFLECTIONS


class Speller:
    """Respells a question's mistyped words as the corpus writes them, so the model reads what the planner meant.

    The embedding model splits "Kinderbetreung" or "Innenstat" into pieces that no longer mean childcare or the town
    centre, and reads "Laerm" less well than "Lärm". A word is left alone when it is spelled right: the corpus has it,
    the general German/English lexicon has it, it is a word of a place name ("Harburg", ``place_words``), or (for the
    edit step) the corpus knows its stem ("Ladepunkte", "Gegenübers"), it is a compound of German words ("Fachdienst",
    not "Wachdienst") or the corpus word one typo away is another form of it ("Bürgerbüro", "Empfiehl"). Otherwise,
    in this order: the corpus word or lexicon word it is with umlauts written out ("guenstig" → "günstig"); for a word
    of at least ``MIN_RESPELLED`` letters, the corpus word one typo away (letter wrong, missing, extra or two swapped:
    "Statteil" → "Stadtteil", an umlaut one letter: "Untersttzer" → "Unterstützer"); for a compound of at least
    ``MIN_COMPOUND`` letters the corpus lacks, a German word joined to a part one typo away from a corpus word
    ("Nachbarbetireb" → "Nachbarbetrieb"), unless the compound is German words as typed at some other split
    ("Hausärztemangel"). Anything else stays as typed, and so does every word in double quotes („Innenstat“).

    A word typed all in lower case is written as the corpus writes it inside a sentence ("leerstand innenstadt öpnv"
    → "Leerstand Innenstadt ÖPNV", see ``cased_forms``), unless the question reads English: the model is
    case-sensitive, and lower-case questions ranked worse and were more often taken for off-topic.
    """

    def __init__(self, texts: Iterable[str], stems: set[str] | frozenset[str]) -> None:
        texts = list(texts)
        forms = Counter(word for text in texts for word in SURFACE_WORD.findall(text))
        counts: Counter[str] = Counter()
        for form, count in forms.items():  # in the order words first occur: it breaks ties between corrections
            counts[form.lower()] += count
        self._spelled: dict[str, str] = {}  # lower case → the corpus's most frequent spelling ("lorawan" → "LoRaWAN")
        for form, _ in forms.most_common():
            self._spelled.setdefault(form.lower(), form)
        self._words = frozenset(counts)
        self._lowered = [word for word, _ in counts.most_common()]
        self._by_folded: dict[str, str] = {}
        for word in self._lowered:  # the most frequent spelling wins a folded form
            self._by_folded.setdefault(fold(word), word)
        self._folded = list(self._by_folded)
        self._lowered_with_umlauts = [word for word in self._lowered if UMLAUT.search(word)]
        self._stems = stems
        self._german, self._english, self._places = lexicon("de"), lexicon("en"), place_words()
        self._cased = cased_forms(texts)
        # Search respells a question and then lists its corrections, and a chat turn respells the refined topic
        # before searching it: each word's reading is worked out once.
        self._read = lru_cache(maxsize=MAX_READINGS)(self._reading)

    def __call__(self, text: str) -> str:
        return SURFACE_WORD.sub(self._reader(text), text)

    def corrections(self, text: str) -> list[tuple[str, str]]:
        """The words read as other words, (as typed, as read), once each; umlauts put back are not listed."""
        found: list[tuple[str, str]] = []
        reader = self._reader(text)
        for match in SURFACE_WORD.finditer(text):
            typed, read = match.group(0), reader(match)
            if fold(read) != fold(typed) and (typed, read) not in found:
                found.append((typed, read))
        return found

    def _reader(self, text: str) -> Callable[[re.Match[str]], str]:
        """How each word (a ``SURFACE_WORD`` match) of ``text`` is read: as typed inside double quotes, else respelled."""
        cased, quoted = self._cases(text), _quoted(text)
        return lambda match: match.group(0) if match.start() in quoted else self._read(match.group(0), cased)

    @staticmethod
    def _cases(text: str) -> bool:
        """Lower-case words are cased as the corpus writes them, but not in an English question ("it" is not "IT")."""
        return not reads_english(SURFACE_WORD.findall(text))

    def _known(self, word: str) -> bool:
        return (word in self._words or word in STOPWORDS or word in self._german or word in self._english
                or word in self._places)

    def _compound_of_known(self, word: str) -> bool:
        """Whether ``word`` splits into German words the corpus or the lexicon has, a linking "s" allowed
        ("Fachdienst", "Füllstandssensoren"), or is a German word after a colloquial prefix ("reinbringen"); English
        words and place names do not count as parts ("Sensor-teat")."""
        if any(word.startswith(p) and len(word) - len(p) >= MIN_PART and self._is_german(word[len(p):])
               for p in COLLOQUIAL_PREFIXES):
            return True
        parts = split_compound(word)
        return bool(parts) and all(self._is_german(p) for p in parts)

    def _is_german(self, part: str) -> bool:
        """A German word of the corpus or the lexicon, a linking "s" allowed."""
        return any(p in self._words or p in self._german for p in (part, *([part[:-1]] if part.endswith("s") else [])))

    def _one_typo_from(self, word: str) -> str | None:
        """The corpus word (lower case) one typo away from a lower-case ``word``, not counting another ending: with
        umlauts written out ("laerm" is "lärm"), else with umlauts as the single letters they are typed as (an umlaut
        dropped, added or swapped is one typo, but two letters once written out: "Gltätesensoren", "Untersttzer")."""
        folded = fold(word)
        match = process.extractOne(folded, self._folded, scorer=distance.DamerauLevenshtein.distance, score_cutoff=1)
        if match and not _inflected(folded, match[0]):
            return self._by_folded[match[0]]
        # Between two words without umlauts both distances are the same: then only words with umlauts can be nearer.
        candidates = self._lowered if UMLAUT.search(word) else self._lowered_with_umlauts
        match = process.extractOne(word, candidates, scorer=distance.DamerauLevenshtein.distance, score_cutoff=1)
        return match[0] if match and not _inflected(word, match[0]) else None

    def _breaks_into_german(self, word: str) -> bool:
        """Whether ``word`` is German words of at least ``MIN_PART`` letters one after the other, at any split points
        (CharSplit proposes one split only, and "Hausärztemangel" is not "Hausärztem" + "angel")."""
        ends = [True] + [False] * len(word)  # ends[j]: word[:j] is such a sequence
        for j in range(MIN_PART, len(word) + 1):
            ends[j] = any(ends[i] and self._is_german(word[i:j]) for i in range(0, j - MIN_PART + 1))
        return ends[-1]

    def _respelled_compound(self, word: str) -> str | None:
        """A compound the corpus lacks, with one part mistyped: a German word and, before or after it, a corpus word one
        typo away ("Nachbarbetireb" → "nachbarbetrieb"); None unless exactly one such reading exists."""
        if self._breaks_into_german(word):  # "Hausärztemangel", "Sperrmüllecken": spelled right
            return None
        readings = set()
        for i in range(MIN_PART, len(word) - MIN_PART + 1):
            head, tail = word[:i], word[i:]
            for known, typo, typo_last in ((head, tail, True), (tail, head, False)):
                if len(typo) < MIN_RESPELLED or not self._is_german(known) or self._is_german(typo):
                    continue
                if part := self._one_typo_from(typo):
                    readings.add(head + part if typo_last else part + tail)
        return readings.pop() if len(readings) == 1 else None

    def _reading(self, typed: str, cased: bool) -> str:
        word = typed.lower()
        better: str | None = word
        if not self._known(word):
            folded = fold(word)
            better = self._by_folded.get(folded) or next((w for w in _umlauts_restored(word) if self._known(w)), None)
            if (better is None and len(word) >= MIN_RESPELLED and stem(word) not in self._stems
                    and not self._compound_of_known(word)):
                better = self._one_typo_from(word)
                if better is None and len(word) >= MIN_COMPOUND:
                    better = self._respelled_compound(word)
        if better is None:
            return typed
        if typed.islower():
            return self._cased.get(better, better) if cased else better
        if better == word:
            return typed
        spelled = self._spelled.get(better, better)  # "LoRaWNA" → "LoRaWAN", not "Lorawan": the model reads case
        return spelled[:1].upper() + spelled[1:] if typed[:1].isupper() else spelled
