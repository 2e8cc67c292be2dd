"""The conversation: one stateless turn at a time, from message + state to answer + new state.

No language model: the turn is classified with a few rules, turned into a standalone search
(current challenge + the change the planner asked for), and answered from prompts/<lang>/
templates filled with the retrieved records. Every statement comes from a record or a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from service.explain import Presenter
from service.language import detect_language
from service.schemas import ChatRequest, ChatResponse, ConversationState, ResultItem, Suggestion
from service.search import Searcher, SearchResult

ORDINALS = {
    "1": 1, "eins": 1, "erste": 1, "ersten": 1, "erster": 1, "erstes": 1, "first": 1, "one": 1,
    "2": 2, "zwei": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "zweites": 2, "second": 2, "two": 2,
    "3": 3, "drei": 3, "dritte": 3, "dritten": 3, "dritter": 3, "drittes": 3, "third": 3, "three": 3,
    "4": 4, "vier": 4, "vierte": 4, "vierten": 4, "vierter": 4, "viertes": 4, "fourth": 4, "four": 4,
    "5": 5, "fünf": 5, "fuenf": 5, "fünfte": 5, "fünften": 5, "fünfter": 5, "fünftes": 5, "fifth": 5, "five": 5,
}
_NUM = "|".join(sorted(ORDINALS, key=len, reverse=True))
PATTERNS = {
    "reset": re.compile(r"^\W*(neu anfangen|von vorn[e]?|neues thema|neustart|zurücksetzen|start over|new topic|reset|restart)\W*$"),
    "thanks": re.compile(r"^\W*(danke|vielen dank|danke schön|dankeschön|merci|thanks?|thank you|cheers)\b[\w\s,!.]{0,30}$"),
    "greeting": re.compile(r"^\W*(hallo|hi|hey|moin|servus|grüß gott|guten (tag|morgen|abend)|hello|good (morning|afternoon|evening))\W*$"),
    "help": re.compile(r"(\bwas kannst du\b|\bwas können sie\b|\bwie funktionierst du\b|\bwie funktioniert (das|dieser assistent)\b|"
                       r"^\W*(ich brauche )?(hilfe|help)\W*$|\bwhat can you do\b|\bhow does (this|it) work\b)"),
    "details": re.compile(rf"(details?|mehr|more|genauer|info\w*|erzähl\w*|tell me)\b.*?"
                          rf"\b(zu|zur|zum|über|on|about|for|to|of|nr\.?|nummer|number|#)?\s*(die |der |das |the )?"
                          rf"(nr\.?\s*|nummer\s*|number\s*|#\s*)?({_NUM})\b"),
    # "zur zweiten", "zum dritten bitte", "Nummer 2", "about the second one"
    "details_short": re.compile(rf"^\W*((zu[rm]|über die|über den|about the|on the)\s+(nr\.?\s*|nummer\s*|number\s*)?|"
                                rf"(nr\.?|nummer|number|#)\s*)({_NUM})\b"),
    "similar": re.compile(rf"(ähnlich\w*|vergleichbar\w*|similar|like)\b.*?\b(nr\.?\s*|nummer\s*|number\s*|#\s*)?({_NUM})\b"),
    "more": re.compile(r"^\W*(und\s+)?(noch\s+)?(mehr|weitere|andere|more|other|next)"
                       r"(\s+(lösungen|ergebnisse|vorschläge|beispiele|solutions|results|options|bitte|please))?\W*(bitte|please)?\W*$"),
    "status": re.compile(r"\b(nur|only|bloß|ausschließlich)\b.*\b(verstetigt\w*|dauerbetrieb|regelbetrieb|umgesetzt\w*|laufend\w*|"
                         r"established|permanent|running|in operation)\b"),
}
FOLLOW_UP_START = re.compile(r"^\W*(und|aber|eher|lieber|auch|mit|ohne|nur|was ist mit|wie wäre es mit|and|but|rather|what about|how about|or)\b")
MAX_FOLLOW_UP_WORDS = 7
MAX_SHOWN = 100  # "mehr" pages through at most this many results per topic


TurnKind = Literal["new", "refine", "space_type", "theme", "more", "details", "similar", "status",
                   "greeting", "thanks", "help", "reset", "empty", "no_topic"]


@dataclass
class Turn:
    """What the planner asked for in this turn."""

    kind: TurnKind
    number: int | None = None


def classify(message: str, state: ConversationState, understanding_space: list[str], understanding_themes: list[str]) -> Turn:
    """Decide what kind of turn this is; only rules, so the behaviour can be read and tested."""
    text = " ".join(message.lower().split())
    words = re.findall(r"\w+", text)
    if not words:
        return Turn("empty")
    for kind in ("reset", "greeting", "thanks", "help"):
        if PATTERNS[kind].search(text):
            return Turn(kind)
    has_topic = bool(state.challenge)
    if has_topic:
        if match := PATTERNS["similar"].search(text):
            return Turn("similar", ORDINALS[match.group(3)])
        if match := PATTERNS["details"].search(text):
            return Turn("details", ORDINALS[match.group(5)])
        if match := PATTERNS["details_short"].search(text):
            return Turn("details", ORDINALS[match.group(5)])
        if PATTERNS["more"].search(text):
            return Turn("more")
        if PATTERNS["status"].search(text):
            return Turn("status")
        short = len(words) <= MAX_FOLLOW_UP_WORDS
        if short and understanding_space and _only_names(words, understanding_space):
            return Turn("space_type")
        if short and understanding_themes and (FOLLOW_UP_START.search(text) or len(words) <= 3):
            return Turn("theme")
        if short and FOLLOW_UP_START.search(text):
            return Turn("refine")
    elif any(PATTERNS[k].search(text) for k in ("similar", "details", "details_short", "more")):
        return Turn("no_topic")  # "mehr" or "Details zu Nummer 2" before anything was shown
    if len(words) == 1 and len(text) < 3:
        return Turn("empty")
    return Turn("new")


FILLER = frozenset("und aber eher lieber auch was ist mit wie wäre es im in der die das den dem ein eine einem einer für zum zur "
                   "bei uns unser unserem unseren bitte nur and but rather what about how the a an in for our please or".split())


def _only_names(words: list[str], detected: list[str]) -> bool:
    """True if the message is little more than a space type ("und im Gewerbegebiet?")."""
    return sum(w not in FILLER for w in words) <= 2


RESULT_TEMPLATES: dict[str, str] = {"more": "more", "status": "status", "space_type": "space_type", "theme": "theme"}


@dataclass
class _TurnInput:
    """One turn, understood: the request, the state with the request's facets merged in, and the classification."""

    request: ChatRequest
    state: ConversationState
    presenter: Presenter
    spaces: list[str]
    themes: list[str]
    turn: Turn
    notes: dict[str, bool] = field(default_factory=dict)


class Conversation:
    """Answers one chat turn. Holds no per-user data: everything comes in with the request."""

    def __init__(self, searcher: Searcher, presenters: dict[str, Presenter], limit: int = 5) -> None:
        self.searcher = searcher
        self.presenters = presenters
        self.limit = limit

    def reply(self, request: ChatRequest) -> ChatResponse:
        turn_in = self._understand(request)
        handler = self._HANDLERS.get(turn_in.turn.kind, Conversation._search_turn)
        return handler(self, turn_in)

    def _understand(self, request: ChatRequest) -> _TurnInput:
        """Merge the request's facets into the state, pick the language and classify the message."""
        state = request.state or ConversationState()
        known = [rid for rid in state.shown if self.searcher.get(rid) is not None]
        stale = len(known) < len(state.shown)
        update: dict[str, object] = {"shown": known}
        if request.space_type:
            update["space_type"] = request.space_type
        if request.themes:
            update["themes"] = list(request.themes)
        if request.status:
            update["status"] = list(request.status)
        detected_language = detect_language(request.message, state.language)
        language = detected_language if detected_language in self.presenters else "de"
        update["language"] = language
        state = state.model_copy(update=update)
        understanding = self.searcher.understanding
        spaces = understanding.detect_space_types(request.message)
        themes = understanding.detect_themes(request.message)
        return _TurnInput(request=request, state=state, presenter=self.presenters[language], spaces=spaces, themes=themes,
                          turn=classify(request.message, state, spaces, themes),
                          notes={"stale": stale, "other_language": detected_language not in self.presenters})

    # Turns answered from a template alone, without a search.
    def _no_topic(self, t: _TurnInput) -> ChatResponse:
        return self._respond(t.presenter, t.state, "unknown_number", [], notes=t.notes, number=0,
                             suggestions=t.presenter.starter_suggestions())

    def _canned(self, t: _TurnInput) -> ChatResponse:
        return self._respond(t.presenter, t.state, t.turn.kind, [], notes=t.notes, suggestions=t.presenter.starter_suggestions())

    def _reset(self, t: _TurnInput) -> ChatResponse:
        fresh = ConversationState(language=t.state.language)
        return self._respond(t.presenter, fresh, "reset", [], notes=t.notes, suggestions=t.presenter.starter_suggestions())

    def _numbered(self, t: _TurnInput) -> ChatResponse:
        return self._about_number(t.presenter, t.state, t.turn, t.notes)

    def _next_state(self, t: _TurnInput) -> ConversationState:
        """The search state after this turn: a new topic, or the current one changed as the planner asked."""
        state, request, kind = t.state, t.request, t.turn.kind
        if kind == "new":
            return ConversationState(challenge=request.message.strip(), language=state.language,
                                     space_type=request.space_type or (t.spaces[0] if len(t.spaces) == 1 else None),
                                     themes=list(request.themes), status=list(request.status))
        changes: dict[str, dict[str, object]] = {
            "refine": {"challenge": f"{state.challenge} {request.message.strip()}", "shown": []},
            "space_type": {"space_type": t.spaces[0] if t.spaces else state.space_type, "shown": []},
            "theme": {"themes": t.themes, "shown": []},
            "status": {"status": ["verstetigt"], "shown": []},
        }
        return state.model_copy(update=changes[kind]) if kind in changes else state

    def _search_turn(self, t: _TurnInput) -> ChatResponse:
        """New topic, refinement, facet change or "more": search and answer with results."""
        presenter, kind = t.presenter, t.turn.kind
        state = self._next_state(t)
        exclude = set(state.shown) if kind == "more" else None
        if exclude is not None and len(exclude) >= MAX_SHOWN:
            exclude = None  # start the list again rather than grow the state without bound
        result = self._search(state, exclude)
        if result.no_match and kind != "more":
            return self._respond(presenter, state, "no_match", [], result=result, notes=t.notes,
                                 suggestions=presenter.theme_suggestions())
        items = presenter.items(result, offset=len(state.shown) if exclude else 0)
        shown = ((state.shown if exclude else []) + [i.id for i in items])[-MAX_SHOWN:]
        ask = self._should_ask_space_type(state, result, t.spaces, t.request)
        state = state.model_copy(update={"shown": shown, "asked_space_type": state.asked_space_type or ask})
        template = "ask_space_type" if ask else RESULT_TEMPLATES.get(kind, "answer")
        return self._respond(presenter, state, template, items, result=result, notes=t.notes,
                             suggestions=presenter.result_suggestions(state, ask))

    _HANDLERS: dict[str, Callable[[Conversation, _TurnInput], ChatResponse]] = {
        "no_topic": _no_topic, "greeting": _canned, "thanks": _canned, "help": _canned, "empty": _canned,
        "reset": _reset, "details": _numbered, "similar": _numbered,
    }

    def _search(self, state: ConversationState, exclude: set[str] | None) -> SearchResult:
        query = state.challenge
        if state.themes:
            labels = [self.presenters["de"].label("themes", t) for t in state.themes]
            query = f"{query} ({', '.join(labels)})"  # the theme shifts the meaning, the filter narrows
        result = self.searcher.search(query, limit=self.limit, space_type=state.space_type, themes=state.themes or None,
                                      status=state.status or None, exclude=exclude)
        if not result.hits and state.themes and not result.no_match:
            result = self.searcher.search(query, limit=self.limit, space_type=state.space_type,
                                          status=state.status or None, exclude=exclude)
        return result

    @staticmethod
    def _should_ask_space_type(state: ConversationState, result: SearchResult, spaces: list[str], request: ChatRequest) -> bool:
        if state.asked_space_type or state.space_type or spaces or request.space_type or not result.hits:
            return False
        covered = {s for hit in result.hits for s in hit.record["space_types"]}
        return len(covered) > 1

    def _about_number(self, presenter: Presenter, state: ConversationState, turn: Turn, notes: dict[str, bool]) -> ChatResponse:
        number = turn.number or 1
        if number > len(state.shown):
            return self._respond(presenter, state, "unknown_number", [], notes=notes, number=number,
                                 suggestions=presenter.result_suggestions(state, False))
        record_id = state.shown[number - 1]
        if turn.kind == "details":
            record = self.searcher.get(record_id)
            hit = self.searcher.hit_for(record_id, state.challenge)
            item = presenter.item(hit, state.space_type, number)
            return self._respond(presenter, state, "details", [item], notes=notes, record=record, number=number,
                                 suggestions=presenter.result_suggestions(state, False))
        result = self.searcher.similar(record_id, limit=self.limit, exclude=set(state.shown),
                                       space_type=state.space_type)
        items = presenter.items(result)
        reference = self.searcher.get(record_id)
        # The similar ones are numbered afresh, so "Details zu Nummer 2" refers to what is on screen now.
        state = state.model_copy(update={"shown": [i.id for i in items]})
        return self._respond(presenter, state, "similar", items, notes=notes, record=reference, number=number,
                             suggestions=presenter.result_suggestions(state, False))

    def _respond(self, presenter: Presenter, state: ConversationState, template: str, items: list[ResultItem],
                 suggestions: list[Suggestion], notes: dict[str, bool], result: SearchResult | None = None,
                 **context: object) -> ChatResponse:
        message = presenter.message(template, items=items, state=state, result=result, notes=notes, **context)
        return ChatResponse(
            message=message, results=items, suggestions=suggestions, state=state,
            no_match=bool(result and result.no_match),
            detected_space_types=result.detected_space_types if result else [],
            language=state.language,
        )
