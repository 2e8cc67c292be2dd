"""Conversation evaluation: does the assistant understand each follow-up, and does it keep the thread?

Dialogues file (YAML list, tests/eval/conversations.yaml): id, split (dev|test), lang, turns: [{say, kind, thread,
optional ref}]. ``kind`` is the expected turn kind (new, refine, context, space_type, theme, status, details,
similar, more, contact, costs, greeting, thanks, help, reset, off_topic); ``thread`` is new (a topic starts), keep
(the running topic must survive the turn) or reset. Optional ``space_type``, ``theme`` and ``status`` say which
filter the turn must set: a slug, or a word the taxonomy gives that entry (its label, names or synonyms). A turn is right when the assistant understood it as
expected and set the filter it names (an off-topic message counts as understood when it is refused or asked back);
a dialogue keeps the thread when every turn's thread expectation holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service.conversation import Conversation
from service.schemas import ChatRequest, ConversationState

# Turn kinds that mean the same as an expected kind.
SAME = {"off_topic": {"unclear", "no_match"}, "details": {"details", "which_one"}, "similar": {"similar", "which_one"}}


@dataclass
class TurnOutcome:
    dialogue: str
    say: str
    expected: str
    observed: str
    thread_expected: str
    thread_ok: bool
    filter_ok: bool = True  # the space type, theme or status the turn names was set

    @property
    def right(self) -> bool:
        return self.filter_ok and (self.observed == self.expected or self.observed in SAME.get(self.expected, set()))


@dataclass
class DialogueReport:
    turns: list[TurnOutcome] = field(default_factory=list)
    dialogues: dict[str, bool] = field(default_factory=dict)  # id -> thread kept in every turn

    @property
    def turn_accuracy(self) -> float:
        return sum(t.right for t in self.turns) / max(1, len(self.turns))

    @property
    def thread_kept(self) -> float:
        return sum(self.dialogues.values()) / max(1, len(self.dialogues))


def load_dialogues(path: Path, split: str = "all") -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [d for d in data if split == "all" or d.get("split") == split]


def _thread_ok(expected: str, before: ConversationState, after: ConversationState, message: str) -> bool:
    if expected == "reset":
        return not after.challenge
    if expected == "new":
        return after.challenge == message.strip()
    # keep: a topic was running and still is (unchanged or refined from it); before any topic (a greeting or a
    # question about the assistant first), none has started
    if not before.challenge:
        return not after.challenge
    return after.challenge.startswith(before.challenge[:60])


def _slugs(entries: dict[str, dict[str, Any]], word: str) -> set[str]:
    """The taxonomy entries a human word names: the slug itself, or a word among its label, names and synonyms
    ("Erprobung" is the status umsetzung, "Kultur" the theme tourismus); the word itself when none does."""
    wanted = word.casefold()
    found = {slug for slug, entry in entries.items()
             if wanted in {w.casefold() for w in [slug, str(entry.get("label", "")), *entry.get("names", []),
                                                   *entry.get("synonyms", [])]}}
    return found or {wanted}


def _filter_ok(turn: dict[str, Any], after: ConversationState, taxonomy: dict[str, dict[str, dict[str, Any]]]) -> bool:
    """The filter a turn names (space type, theme, status) is the one the state now holds."""
    if "space_type" in turn and after.space_type != turn["space_type"]:
        return False
    if "theme" in turn and not _slugs(taxonomy.get("themes", {}), str(turn["theme"])) & set(after.themes):
        return False
    return "status" not in turn or (len(after.status) == 1
                                    and after.status[0] in _slugs(taxonomy.get("status", {}), str(turn["status"])))


def run_dialogues(conversation: Conversation, dialogues: list[dict[str, Any]]) -> DialogueReport:
    report = DialogueReport()
    taxonomy = conversation.searcher.artifact.taxonomy
    for dialogue in dialogues:
        state: ConversationState | None = None
        kept = True
        for turn in dialogue["turns"]:
            before = state or ConversationState()
            answer = conversation.reply(ChatRequest(message=turn["say"], state=state))
            observed = "no_match" if answer.no_match and answer.turn == "new" else answer.turn
            ok = _thread_ok(turn.get("thread", "keep"), before, answer.state, turn["say"])
            report.turns.append(TurnOutcome(dialogue["id"], turn["say"], turn["kind"], observed, turn.get("thread", "keep"), ok,
                                            _filter_ok(turn, answer.state, taxonomy)))
            kept = kept and ok
            state = answer.state
        report.dialogues[dialogue["id"]] = kept
    return report


def format_dialogue_report(report: DialogueReport, title: str) -> str:
    lines = [title, f"turns: {len(report.turns)}, turn kind right: {report.turn_accuracy:.1%}; "
                    f"dialogues: {len(report.dialogues)}, thread kept: {report.thread_kept:.1%}"]
    by_kind: dict[str, list[TurnOutcome]] = defaultdict(list)
    for t in report.turns:
        by_kind[t.expected].append(t)
    lines.append(f"{'expected kind':16} {'n':>4} {'right':>7}  most common wrong")
    for kind in sorted(by_kind):
        outcomes = by_kind[kind]
        wrong = Counter(t.observed if t.observed != t.expected else "wrong filter"
                        for t in outcomes if not t.right).most_common(2)
        lines.append(f"{kind:16} {len(outcomes):4d} {sum(t.right for t in outcomes) / len(outcomes):7.1%}  "
                     + ", ".join(f"{k} {n}" for k, n in wrong))
    broken = [t for t in report.turns if not t.thread_ok][:10]
    if broken:
        lines.append("thread lost at (first 10):")
        lines += [f"  {t.dialogue}: {t.say!r} (expected {t.thread_expected}, understood as {t.observed})" for t in broken]
    return "\n".join(lines)
