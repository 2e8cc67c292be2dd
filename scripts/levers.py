"""What each part of the search is worth: the default path, and the same with one lever switched off at a time, on a
mock held-out benchmark (the corpus and questions of ``scripts.heldout --subset``), evaluated through the full
searcher in this process. Prints one Markdown table: nDCG@5, Recall@5 and MRR@10 overall, nDCG@5 per query kind,
and "nothing fits" on the split's off-topic questions, on tests/eval/off_topic_dev.txt and on its planning questions.

    .venv/bin/python -m scripts.levers --split dev     # decide on dev; --split test once, to report a decision

Rows (each the default with one thing changed):
- base model: no fine-tune (``ATLAS_TUNE=false``);
- tuned on the corpus alone: without the atlas's own records as training background;
- tuned without noisy variants: no typo/umlaut/compound copies of the training phrases;
- detector without the atlas: the "nothing fits" detector learns only this corpus as answerable;
- no challenge / lexical / space part: that ranking weight set to 0 (``service.search.Ranking``);
- question as typed: no respelling or casing (``indexer.text.Speller``);
- no detector: nothing is refused.
Tuned models are cached (``ATLAS_CACHE_DIR``): a first run tunes up to three models per split, a few minutes each on
two cores; a second run takes about a minute.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from indexer.build import build_index
from indexer.corpus import Corpus, Record, load_corpus
from indexer.embedding import BUNDLED_MODEL, DEFAULT_PASSAGE_PREFIX, DEFAULT_QUERY_PREFIX, Embedder, default_cache_dir
from indexer.evalset import EvalQuery, load_queries
from indexer.text import Speller
from indexer.tune import TuneSettings, index_embedder, shipped_records
from scripts.heldout import ROOT, atlas, mock_benchmark
from scripts.tune_ranking import lines
from service.app import load_searcher
from service.config import Settings
from service.evaluation import Report, run, summarise
from service.search import Searcher

OFF_TOPIC_DEV = ROOT / "tests" / "eval" / "off_topic_dev.txt"
KINDS = {"colloquial": "coll.", "compound": "comp.", "english": "Engl.", "keywords": "keyw.", "long": "long",
         "paraphrase": "para.", "space_type": "space", "two_solutions": "two", "typo": "typo"}


@dataclass(frozen=True)
class Build:
    """How a model and an index are made: tuned or not, with which training background and detector background."""

    tune: bool = True
    settings: TuneSettings = TuneSettings()
    tune_background: bool = True
    detector_background: bool = True


class AsTyped(Speller):
    """The question as the planner typed it: nothing respelled, nothing recased."""

    def __init__(self) -> None:  # no corpus words needed
        pass

    def __call__(self, text: str) -> str:
        return text

    def corrections(self, text: str) -> list[tuple[str, str]]:
        return []


def _weight_off(name: str) -> Callable[[Searcher], None]:
    def switch(searcher: Searcher) -> None:
        searcher.ranking = replace(searcher.ranking, **{name: 0.0})
    return switch


def _speller_off(searcher: Searcher) -> None:
    searcher.respell = AsTyped()


BUILDS = {
    "default": Build(),
    "base model (not tuned)": Build(tune=False),
    "tuned on the corpus alone": Build(tune_background=False),
    "tuned without noisy variants": Build(settings=TuneSettings(augment_share=0.0)),
    "detector without the atlas": Build(detector_background=False),
}
SWITCHES: dict[str, Callable[[Searcher], None]] = {  # applied to the default build's searcher, one at a time
    "no challenge part": _weight_off("w_challenge"),
    "no lexical part": _weight_off("w_lexical"),
    "no space-type part": _weight_off("w_space"),
    "question as typed": _speller_off,
    "no detector": _weight_off("min_on_topic"),
}


@contextmanager
def switched_off(searcher: Searcher, name: str) -> Iterator[Searcher]:
    """The searcher with ``SWITCHES[name]`` applied, and as it was again afterwards."""
    ranking, respell = searcher.ranking, searcher.respell
    SWITCHES[name](searcher)
    try:
        yield searcher
    finally:
        searcher.ranking, searcher.respell = ranking, respell


def searcher_for(build: Build, corpus: Corpus, corpus_dir: Path, index_dir: Path, background: list[Record]) -> Searcher:
    cache = default_cache_dir()
    embedder: Embedder = index_embedder(BUNDLED_MODEL, cache, DEFAULT_QUERY_PREFIX, DEFAULT_PASSAGE_PREFIX,
                                        corpus.records, tuned=build.tune, progress=False,
                                        background=background if build.tune_background else (),
                                        settings=build.settings)
    build_index(corpus, index_dir, embedder, background=background if build.detector_background else ())
    return load_searcher(Settings(index_dir=index_dir, corpus_dir=corpus_dir))


def measure(searcher: Searcher, queries: list[EvalQuery], off_topic: list[str]) -> tuple[Report, int]:
    refused = sum(searcher.search(text, limit=5).no_match for text in off_topic)
    return summarise(run(searcher, queries)), refused


def row(name: str, report: Report, refused: int, n_off: int) -> str:
    o = report.overall
    cells = [name, f"{o.ndcg5:.3f}", f"{o.recall5:.3f}", f"{o.mrr10:.3f}"]
    cells += [f"{report.by_kind[k].ndcg5:.3f}" if k in report.by_kind else "–" for k in KINDS]
    cells += [f"{round(report.off_topic_refused * report.n_off_topic)}/{report.n_off_topic}", f"{refused}/{n_off}",
              f"{round(report.false_refusals * o.n)}/{o.n}"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--subset", type=int, default=60, help="Records in the mock benchmark (as scripts.heldout).")
    args = parser.parse_args()
    off_topic = lines(OFF_TOPIC_DEV)
    with tempfile.TemporaryDirectory(prefix="atlas-levers-") as tmp:
        folder = Path(tmp)
        corpus_file, queries_file = mock_benchmark(args.subset, args.split, folder)
        atlas("import", str(corpus_file), "--corpus", str(folder / "corpus"))
        corpus = load_corpus(folder / "corpus")
        own = {r.id for r in corpus.records}
        background = [r for r in shipped_records() if r.id not in own]
        queries = load_queries(queries_file, "all")
        rows = []
        for i, (name, build) in enumerate(BUILDS.items()):
            started = time.perf_counter()
            searcher = searcher_for(build, corpus, folder / "corpus", folder / f"index-{i}", background)
            print(f"{name}: model, index and service ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            rows.append(row(name, *measure(searcher, queries, off_topic), len(off_topic)))
            if name != "default":
                continue
            for switch in SWITCHES:
                with switched_off(searcher, switch):
                    rows.append(row(switch, *measure(searcher, queries, off_topic), len(off_topic)))
    n = Counter(q.kind for q in queries)
    head = ["mock " + args.split, "nDCG@5", "R@5", "MRR@10"] + [f"{short} ({n.get(k, 0)})" for k, short in KINDS.items()]
    head += ["off-topic", "off-topic dev set", "false refusals"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
