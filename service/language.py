"""Which language a planner writes in: langdetect for real sentences, word lists for short ones."""

from __future__ import annotations

import re

from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0  # langdetect is random by default; answers must not change between runs

SUPPORTED = ("de", "en")
WORD = re.compile(r"[a-zA-ZäöüÄÖÜß']+")
# Short messages ("danke", "more", "und im Quartier?") are too short for statistics.
MIN_WORDS_FOR_DETECTION = 8
MIN_PROBABILITY = 0.80
ENGLISH = frozenset(
    "the a an and or of in on for to with our we my is are what how can you do does hello hi hey thanks thank "
    "please more other similar only details detail number show me start over help which where why yes no "
    "business park neighbourhood neighborhood downtown city centre center".split()
)
GERMAN = frozenset(
    "der die das und oder in im am zu zur zum mit für wir unser unsere ist sind was wie kann können hallo "
    "danke bitte mehr weitere andere ähnliche nur details nummer zeig neu anfangen hilfe welche wo warum ja "
    "nein eher auch guten tag moin servus innenstadt quartier gewerbegebiet".split()
)


def detect_language(text: str, previous: str = "de") -> str:
    """Return "de", "en" or another ISO code; short or unclear messages keep ``previous``."""
    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return previous
    if len(words) < MIN_WORDS_FOR_DETECTION:
        english = sum(w in ENGLISH for w in words)
        german = sum(w in GERMAN for w in words)
        if english > german:
            return "en"
        if german > english:
            return "de"
        if len(words) < 4:
            return previous
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return previous
    if best.prob < MIN_PROBABILITY:
        return previous
    return str(best.lang)
