"""Retrieval quality floor on our labelled queries (tests/eval/queries.yaml), measured as `atlas eval` does,
on the default path: the index is built by `atlas index`'s defaults, with the model fine-tuned on the corpus.

Floors sit a little below the figures measured (371 records, labels extended by pooling when the corpus grew: dev
nDCG@5 0.744, test 0.769 when the ranking was chosen; 0.766 and 0.777 since questions are respelled as the atlas
writes them (0.767 and 0.776 since lower-case words are cased as the atlas writes them); off-topic refused 6/8 and 6/8,
false refusals 0 % / 0 % with the "nothing fits" detector that has a hidden layer (5/8, 6/8, 1.4 %, 0 % with the
logistic regression before)), so a change that makes search worse fails CI.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from indexer.build import BuildResult
from indexer.evalset import load_queries
from indexer.text import MIN_CORRECTED, analyze
from scripts.tune_ranking import lines, spellings
from service.app import load_searcher
from service.cli import main
from service.config import Settings
from service.evaluation import format_report, run, summarise
from service.search import Searcher

QUERIES = Path(__file__).parent / "eval" / "queries.yaml"
FLOORS = {"dev": 0.745, "test": 0.76}


@pytest.fixture(scope="module")
def searcher(corpus_index: BuildResult):  # type: ignore[no-untyped-def]
    return load_searcher(Settings(index_dir=corpus_index.path.parent.parent))


def test_eval_set_is_well_formed(corpus_index: BuildResult) -> None:
    queries = load_queries(QUERIES)
    ids = {r.id for r in corpus_index.corpus.records}
    assert len(queries) >= 120
    assert {q.split for q in queries} == {"dev", "test"}
    assert all(set(q.relevant) <= ids for q in queries)
    assert all(q.relevant for q in queries if q.kind != "off_topic")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_quality_floor(searcher, split: str) -> None:  # type: ignore[no-untyped-def]
    report = summarise(run(searcher, load_queries(QUERIES, split)))
    print(format_report(report, split))
    assert report.overall.ndcg5 >= FLOORS[split]
    assert report.false_refusals <= 0.05
    # 8 off-topic questions per split: measured 6 and 6 (with the logistic regression 5 and 6)
    assert report.off_topic_refused >= 0.6


def test_the_separate_off_topic_dev_set_is_refused(searcher) -> None:  # type: ignore[no-untyped-def]
    """The 119 questions the threshold is chosen on (written apart from the detector's negatives)."""
    texts = lines(Path(__file__).parent / "eval" / "off_topic_dev.txt")
    refused = [t for t in texts if searcher.refuses(searcher.components(t, []))]
    assert len(texts) >= 100 and len(refused) / len(texts) >= 0.93  # measured 115 of 119 (110 with the logistic regression)


def test_atlas_eval_command_prints_figures_and_enforces_floor(settings: Settings, tmp_path: Path) -> None:
    queries = tmp_path / "q.yaml"
    queries.write_text(
        "- {id: a, kind: colloquial, split: dev, query: 'Leerstand in der Fußgängerzone', space_type: innenstadt,"
        " relevant: {einbeck-leerstandsmanagement: 2}}\n"
        "- {id: b, kind: off_topic, split: dev, query: 'Rezept für Apfelkuchen', space_type: null, relevant: {}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["eval", "--index", str(settings.index_dir), "--queries", str(queries), "--split", "dev"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "nDCG@5" in result.output and "off-topic abgelehnt" in result.output
    failed = runner.invoke(main, [*args, "--min-ndcg", "1.01"])
    assert failed.exit_code == 1 and "Qualitätsuntergrenze verfehlt" in failed.output


# (as typed, as meant): umlauts written out, a letter missing, swapped or doubled; none of them is an eval question.
MISTYPED = [
    ("Leerstehende Geschaefte in der Fussgaengerzone wiederbeleben", "Leerstehende Geschäfte in der Fußgängerzone wiederbeleben"),
    ("Buergerbeteiligung mit einem digitalen Zwiling der Stadt", "Bürgerbeteiligung mit einem digitalen Zwilling der Stadt"),
    ("Starkregen vorhersagen und Kanalisation überwachen, Fruehwarnung", "Starkregen vorhersagen und Kanalisation überwachen, Frühwarnung"),
    ("Laerm in der Nacht in der Innenstat messen", "Lärm in der Nacht in der Innenstadt messen"),
    ("Ladesaeulen für E-Autos im Gewerbgebiet", "Ladesäulen für E-Autos im Gewerbegebiet"),
]


@pytest.mark.parametrize(("typed", "meant"), MISTYPED)
def test_a_mistyped_question_finds_what_its_right_spelling_finds(searcher, typed: str, meant: str) -> None:  # type: ignore[no-untyped-def]
    """The question is respelled as the atlas writes it before it is embedded (without that, each of these ranked
    differently: the model reads "Innenstat" or "Fussgaengerzone" as other word pieces)."""
    assert searcher.respell(typed) == meant
    top = [h.record["id"] for h in searcher.search(meant, limit=3).hits]
    assert [h.record["id"] for h in searcher.search(typed, limit=3).hits] == top


# Planning questions in English (none is an eval question). The "nothing fits" detector learns from German negatives
# only: trained on the English ones too, with German positives, it took English for off topic (these scored 0.11–0.63,
# one refused; without them 0.42–0.90).
ENGLISH_PLANNING = [
    "How can we make our new business park climate-neutral?",
    "How do we get a climate-neutral business park?",
    "What works against speeding outside schools?",
    "Which towns have smart parking in the old town?",
    "What can we do about heat in our city centre?",
    "Any smart city examples for ageing residents living alone?",
    "How do councils count footfall in shopping streets?",
    "Our old town has many empty shops. Any examples?",
]


def test_english_planning_questions_are_not_refused(searcher) -> None:  # type: ignore[no-untyped-def]
    refused = [text for text in ENGLISH_PLANNING if searcher.search(text).no_match]
    assert not refused
    assert searcher.search("Will it rain in London tomorrow?").no_match  # and English is not waved through


def test_a_rebuild_of_the_same_corpus_ranks_mistyped_terms_the_same(searcher) -> None:  # type: ignore[no-untyped-def]
    """An unknown term is corrected to a corpus term one typo away ("ustand" → "umstand" or "zustand"). Among equally
    near terms the choice must not depend on the order of the BM25 vocabulary, which changes from build to build."""
    vocabulary = searcher.artifact.lexical.vocab_dict
    near: dict[str, set[str]] = {}
    for term in vocabulary:
        for i in range(len(term)):
            typo = term[:i] + term[i + 1 :]
            if MIN_CORRECTED <= len(typo) < 7 and typo.isalpha() and typo not in vocabulary and analyze(typo) == [typo]:
                near.setdefault(typo, set()).add(term)
    ambiguous = sorted(typo for typo, terms in near.items() if len(terms) >= 2)[:40]
    assert len(ambiguous) >= 20
    lexical = copy.copy(searcher.artifact.lexical)
    lexical.vocab_dict = dict(reversed(list(vocabulary.items())))  # the same terms and ids, another order
    rebuilt = Searcher(searcher.embedder, replace(searcher.artifact, lexical=lexical), searcher.ranking)
    found = [bool(searcher.components(typo, []).lexical.any()) for typo in ambiguous]
    assert sum(found) >= 10  # the typos are corrected to something the corpus has
    for typo in ambiguous:
        assert np.array_equal(searcher.components(typo, []).lexical, rebuilt.components(typo, []).lexical), typo


def test_terse_keyword_questions_are_answered_however_they_are_typed(searcher) -> None:  # type: ignore[no-untyped-def]
    """The 127 keyword questions the threshold is chosen on, each as written, in lower case, with a "?" and both.
    Before lower-case words were cased as the atlas writes them and the detector read questions without their "?",
    66 of these 508 were refused ("rufbus?", "starkregen vorsorge?")."""
    keywords = lines(Path(__file__).parent / "eval" / "keywords_dev.txt")
    forms = [form for k in keywords for form in spellings(k)]
    refused = [text for text in forms if searcher.search(text).no_match]
    assert len(keywords) >= 100 and len(refused) <= 8, refused  # measured 4 of 508


def test_a_question_typed_in_lower_case_ranks_about_as_well(searcher) -> None:  # type: ignore[no-untyped-def]
    """The dev split typed all in lower case: nDCG@5 0.733 before the speller cased words as the atlas writes them,
    0.760 after (0.767 as written)."""
    queries = [replace(q, query=q.query.lower()) for q in load_queries(QUERIES, "dev")]
    report = summarise(run(searcher, queries))
    assert report.overall.ndcg5 >= FLOORS["dev"]
    assert report.false_refusals <= 0.05



def test_each_lever_switch_of_scripts_levers_turns_off_what_it_names(searcher: Searcher) -> None:
    """`python -m scripts.levers` reports what each part of the search is worth by switching it off on a live searcher;
    a switch that silently did nothing (a renamed weight, a speller no longer consulted) would report the part as
    worthless. Each switch is undone afterwards, as the script does."""
    from scripts.levers import SWITCHES, switched_off

    typo, weather = "Kinderbetreung im Statteil", "Wie wird das Wetter morgen in Berlin?"
    parts = searcher.components("Lärm vom Gewerbegebiet in der Innenstadt", ["innenstadt"])
    weighted = {"no challenge part": parts.challenge, "no lexical part": parts.lexical, "no space-type part": parts.space}
    assert searcher.search(weather).no_match and searcher.search(typo).corrections
    for name in SWITCHES:
        default_scores = searcher.fuse(parts)
        with switched_off(searcher, name):
            if name == "question as typed":
                assert searcher.respell(typo) == typo and not searcher.search(typo).corrections
            elif name == "no detector":
                assert not searcher.search(weather).no_match
            else:
                assert weighted[name].max() > 0, name  # the question has this part, so switching it off must show
                assert not np.allclose(searcher.fuse(parts), default_scores), name
    assert searcher.search(weather).no_match and searcher.search(typo).corrections
