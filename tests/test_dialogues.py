"""The conversation test sets: how many turns the assistant understands as meant (and, where a turn names a space
type, theme or status, sets that filter), and how many dialogues keep their thread. The goal is 95 % / 95 % on the
fresh set's test split; floors sit a turn or two under the figures measured.

- conversations.yaml, written before the implementation (dev 98.5 % / 100 %, test 95.5 % / 100 %; some rules were
  found from its test-set misses over the rounds, so its test figures are optimistic);
- conversations_fresh.yaml, written later by two writers who saw neither the code nor the training phrasings; its
  test split is the honest figure and is never used to fix a miss (86.9 % / 85.0 % when it was added, 92.8 % / 90.0 %
  after round 3, 95.4 % / 97.5 % after round 4 with the stricter filter check; dev 98.7 % / 100 %);
- conversations_filters.yaml, dev only, by a third writer, aimed at filters, context and asides (73.5 % / 50.0 %
  when it arrived, 98.8 % / 100 % after round 4);
- conversations_blind.yaml, test only, by a fourth writer, arrived after the first round-4 changes: 85.3 % / 86.7 %
  when first measured, 89.9 % / 90.0 % at the end of round 4 (never fixed from). The gap to the fresh test split shows
  how much a test split that is measured often (even if never fixed from) flatters;
- conversations_variety.yaml, dev only, by a fifth writer: many phrasings of similar, reset, thanks, contact, help
  and greeting turns (80.1 % / 66.7 % when it arrived, 95.6 % / 96.7 % after round 4);
- conversations_blind2.yaml, test only, by a sixth writer, arrived after round 4: 88.9 % / 96.0 % when first measured
  (never fixed from), 88.0 % / 92.0 % with the n-gram features;
- conversations_blind3.yaml, test only, by a seventh writer: 82.8 % / 92.0 % when first measured, 85.3 % / 88.0 % with
  the n-gram features (never fixed from);
- conversations_dev7.yaml, dev only, by an eighth writer: 85.0 % / 84.0 % when it arrived, 90.8 % / 92.0 % with the
  n-gram features in the turn classifier, 93.3 % / 96.0 % after three rules from its misses;
- conversations_dev8.yaml, dev only, by a ninth writer: 87.5 % / 84.0 % when it arrived (90.6 % once the expected
  filters were read through the taxonomy: its writer, like blind3's and dev7's, wrote "erprobung" for the status the
  taxonomy calls umsetzung, and "Kultur" for the theme tourismus), 94.4 % / 92.0 % after four rules from its misses.
  With that reading blind3 measures 87.9 % / 88.0 % and dev7 94.2 % / 96.0 %; 95.6 % / 96.0 % after two more rules
  and the tenth and eleventh writers' phrasings;
- conversations_blind4.yaml, test only, by a twelfth writer who saw no code and no phrasings, arrived after all of the
  above: 97.8 % / 96.0 % when first measured (never fixed from);
- conversations_dev9.yaml, dev only, by a fourteenth writer (hard cases: follow-ups naming topic words, asides,
  a second challenge later on): 76.2 % / 70.0 % when it arrived, 88.4 % / 80.0 % after rules from its misses;
- conversations_dev10.yaml, dev only, by a seventeenth writer (long statements about the place, pronouns that point
  back): 86.9 % / 86.7 % when it arrived, 88.0 % / 90.0 % with the rules from dev9 (an independent check of them),
  93.7 % / 90.0 % after rules from its own misses;
- conversations_dev11.yaml, dev only, by a nineteenth writer (thanks with a last remark, costs as staff or running
  costs, indirect status): 76.3 % / 76.7 % when it arrived, 95.5 % / 93.3 % after rules from its misses;
- conversations_blind5.yaml and conversations_blind6.yaml, test only, by a fifteenth and a twentieth writer: 86.0 % /
  72.0 % and 88.9 % / 80.0 % when first measured (at cdbd401, after all the rules above). Of their 19 lost threads, 10
  were an opening greeting or question about the assistant, refused as off-topic because before any topic only exact
  rules were asked; from that count (not from single messages) the turn model is now also asked before any topic when
  the atlas would refuse the message: 95.1 % / 100 % and 91.7 % / 88.0 % after it, figures that are no longer blind;
- conversations_blind7.yaml, test only, by a twenty-first writer: 94.8 % / 92.0 % when first measured (at 0621bed);
- conversations_dev12.yaml, by a twenty-third writer, written as a blind test set (90.3 % / 88.0 % when first
  measured, at 3537acc) and then made dev to see which rules a sure turn model should overrule: 94.4 % / 100 % after
  the rules from its misses (long openings, statements, ruled-out parts, "Andere Baustelle:");
- conversations_blind9.yaml, test only, by a twenty-fourth writer: 91.8 % / 84.0 % when first measured (at 64041a2,
  after everything above; never fixed from);
- conversations_dev13.yaml, dev only, by a twenty-fifth writer (misleading surfaces: refinements as facts, context
  naming websites or space types): 87.9 % / 86.7 % when it arrived (at 9f50ac5), 91.9 % / 96.7 % after rules from
  its misses;
- conversations_blind10.yaml, test only, by a twenty-seventh writer: 94.2 % / 100 % when first measured (at 55ed644);
- conversations_dev14.yaml, dev only, by a twenty-sixth writer (weighted to refine, space type, theme, context, reset and
  small talk): 89.2 % / 90.0 % when it arrived (at 55ed644); a sure turn model overruling every rule that is not an exact
  form changed none of its turns (thresholds 0.6–0.95), so the rules stay; 95.5 % / 96.7 % after four general fixes
  chosen on it (what is asked of a numbered result learned, a longer reset, "Platz 3", "…schwerpunkt")."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.dialogues import format_dialogue_report, load_dialogues, run_dialogues

DIALOGUES = Path(__file__).parent / "eval" / "conversations.yaml"
FRESH = Path(__file__).parent / "eval" / "conversations_fresh.yaml"  # written later by writers who saw no code
FILTERS = Path(__file__).parent / "eval" / "conversations_filters.yaml"  # a third writer, dev only
BLIND = Path(__file__).parent / "eval" / "conversations_blind.yaml"  # a fourth writer, test only, never fixed from
VARIETY = Path(__file__).parent / "eval" / "conversations_variety.yaml"  # a fifth writer, dev only
BLIND2 = Path(__file__).parent / "eval" / "conversations_blind2.yaml"  # a sixth writer, test only, never fixed from
BLIND3 = Path(__file__).parent / "eval" / "conversations_blind3.yaml"  # a seventh writer, test only, never fixed from
DEV7 = Path(__file__).parent / "eval" / "conversations_dev7.yaml"  # an eighth writer, dev only
DEV8 = Path(__file__).parent / "eval" / "conversations_dev8.yaml"  # a ninth writer, dev only
BLIND4 = Path(__file__).parent / "eval" / "conversations_blind4.yaml"  # a twelfth writer, test only, never fixed from
DEV9 = Path(__file__).parent / "eval" / "conversations_dev9.yaml"  # a fourteenth writer, dev only
DEV10 = Path(__file__).parent / "eval" / "conversations_dev10.yaml"  # a seventeenth writer, dev only
DEV11 = Path(__file__).parent / "eval" / "conversations_dev11.yaml"  # a nineteenth writer, dev only
BLIND5 = Path(__file__).parent / "eval" / "conversations_blind5.yaml"  # a fifteenth writer, test only
BLIND6 = Path(__file__).parent / "eval" / "conversations_blind6.yaml"  # a twentieth writer, test only
BLIND7 = Path(__file__).parent / "eval" / "conversations_blind7.yaml"  # a twenty-first writer, test only
DEV12 = Path(__file__).parent / "eval" / "conversations_dev12.yaml"  # a twenty-third writer, dev
BLIND9 = Path(__file__).parent / "eval" / "conversations_blind9.yaml"  # a twenty-fourth writer, test only
DEV13 = Path(__file__).parent / "eval" / "conversations_dev13.yaml"  # a twenty-fifth writer, dev only
BLIND10 = Path(__file__).parent / "eval" / "conversations_blind10.yaml"  # a twenty-seventh writer, test only
DEV14 = Path(__file__).parent / "eval" / "conversations_dev14.yaml"  # a twenty-sixth writer, dev only
FLOORS = {(DIALOGUES, "dev"): (0.96, 0.97), (DIALOGUES, "test"): (0.93, 0.97), (FRESH, "dev"): (0.97, 0.97),
          (FRESH, "test"): (0.94, 0.95), (FILTERS, "dev"): (0.95, 0.93),
          (BLIND, "test"): (0.88, 0.87), (VARIETY, "dev"): (0.93, 0.93),
          (BLIND2, "test"): (0.87, 0.91), (BLIND3, "test"): (0.83, 0.84), (DEV7, "dev"): (0.91, 0.92),
          (DEV8, "dev"): (0.94, 0.92), (BLIND4, "test"): (0.96, 0.92),
          (DEV9, "dev"): (0.89, 0.80), (DEV10, "dev"): (0.94, 0.90), (DEV11, "dev"): (0.94, 0.90),
          (BLIND5, "test"): (0.93, 0.96), (BLIND6, "test"): (0.90, 0.84), (BLIND7, "test"): (0.94, 0.88),
          (DEV12, "dev"): (0.94, 0.96), (BLIND9, "test"): (0.90, 0.80),
          (DEV13, "dev"): (0.90, 0.93), (BLIND10, "test"): (0.92, 0.96), (DEV14, "dev"): (0.93, 0.93)}


def test_the_set_is_large_and_balanced() -> None:
    everything = load_dialogues(DIALOGUES)
    turns = [t for d in everything for t in d["turns"]]
    assert len(everything) >= 80 and len(turns) >= 250
    assert {d["lang"] for d in everything} == {"de", "en"} and {d["split"] for d in everything} == {"dev", "test"}
    kinds = {t["kind"] for t in turns}
    assert {"new", "refine", "context", "details", "similar", "more", "contact", "costs", "off_topic", "reset"} <= kinds


@pytest.mark.parametrize(("path", "split"), list(FLOORS), ids=[f"{p.stem}-{s}" for p, s in FLOORS])
def test_turns_are_understood_and_threads_kept(atlas_client: TestClient, path: Path, split: str) -> None:
    conversation = atlas_client.app.state.startup.current().conversation  # type: ignore[attr-defined]
    report = run_dialogues(conversation, load_dialogues(path, split))
    print(format_dialogue_report(report, f"== {path.name} {split} =="))
    turn_floor, thread_floor = FLOORS[path, split]
    assert report.turn_accuracy >= turn_floor and report.thread_kept >= thread_floor, format_dialogue_report(report, split)


def test_a_filter_named_in_the_writers_words_is_checked_against_the_taxonomy() -> None:
    from service.dialogues import _filter_ok
    from service.schemas import ConversationState

    taxonomy = {"themes": {"tourismus": {"label": "Tourismus, Kultur und Freizeit", "names": ["Tourismus", "Kultur"]},
                           "energie": {"label": "Energie"}},
                "status": {"umsetzung": {"label": "In Umsetzung", "synonyms": ["Erprobung", "Pilot"]},
                           "verstetigt": {"label": "Verstetigt"}}}
    assert _filter_ok({"theme": "Kultur"}, ConversationState(themes=["tourismus"]), taxonomy)
    assert not _filter_ok({"theme": "Kultur"}, ConversationState(themes=["energie"]), taxonomy)
    assert _filter_ok({"status": "erprobung"}, ConversationState(status=["umsetzung"]), taxonomy)
    assert not _filter_ok({"status": "erprobung"}, ConversationState(status=["verstetigt"]), taxonomy)
    assert not _filter_ok({"status": "erprobung"}, ConversationState(status=["umsetzung", "verstetigt"]), taxonomy)
    assert not _filter_ok({"theme": "Wohnen"}, ConversationState(themes=["energie"]), taxonomy)  # no such theme


def test_a_turn_before_any_topic_keeps_the_thread_when_it_starts_none() -> None:
    from service.dialogues import _thread_ok
    from service.schemas import ConversationState

    empty, topic = ConversationState(), ConversationState(challenge="Leerstand in der Fußgängerzone")
    assert _thread_ok("keep", empty, empty, "hallo")  # a greeting or a question about the assistant first
    assert not _thread_ok("keep", empty, topic, "hallo")  # a greeting taken for a challenge
    assert _thread_ok("keep", topic, topic, "danke") and not _thread_ok("keep", topic, empty, "danke")
