"""Transcripts of the planner conversations issue #13 started from, as the assistant answers them today.

Each conversation runs against the live index with the real model, one turn after the other, the state handed
back as the page does. Prints what the planner typed, how the turn was understood, the assistant's answer and the
results listed. Asserts nothing; `tests/test_conversation.py` checks the same conversations.

    .venv/bin/python -m scripts.transcripts
"""

from __future__ import annotations

import textwrap

from service.app import load_state
from service.config import Settings
from service.schemas import ChatRequest, ConversationState

CONVERSATIONS = {
    "1 · Ortskern, dann die Gemeinde": [
        "Unser Ortskern stirbt aus, seit der Edeka an den Ortsrand gezogen ist. Was können wir tun?",
        "wir sind eine Gemeinde mit 8000 Einwohnern",
    ],
    "2 · ohne großes Budget, dann Nummer 1": [
        "Unser Ortskern stirbt aus, seit der Edeka an den Ortsrand gezogen ist. Was können wir tun?",
        "gibt es das auch ohne großes Budget?",
        "Details zu Nummer 1",
    ],
    "3 · Fußgängerzone, dann der Stand": [
        "In unserer Fußgängerzone stehen immer mehr Läden leer.",
        "Welche davon sind schon dauerhaft im Betrieb?",
    ],
    "4 · ein Ort als Name": [
        "In unserer Fußgängerzone stehen immer mehr Läden leer.",
        "Was hat Einbeck genau gemacht?",
    ],
    "5 · Hitze, dann Sensoren": [
        "Hitze im Quartier",
        "gibt es da was mit Sensoren?",
    ],
    "6 · Ansprechpartner, die zweite, Kosten": [
        "In unserer Fußgängerzone stehen immer mehr Läden leer.",
        "wer ist da Ansprechpartner?",
        "zeig mir die zweite genauer",
        "und was kostet sowas ungefähr?",
    ],
}
MAX_ANSWER_LINES = 8


def main() -> None:
    conversation = load_state(Settings())["live"].current().conversation
    for title, messages in CONVERSATIONS.items():
        print(f"\n=== {title} ===")
        state: ConversationState | None = None
        for message in messages:
            answer = conversation.reply(ChatRequest(message=message, state=state))
            state = answer.state
            print(f"\nPlanerin: {message}")
            print(f"  [verstanden als: {answer.turn}; Thema: {state.challenge[:70]!r}; Raumtyp: {state.space_type}; "
                  f"Stand: {state.status}; Kontext: {state.context!r}]")
            lines = [line for line in answer.message.splitlines() if line.strip()]
            for line in lines[:MAX_ANSWER_LINES]:
                print(textwrap.fill(line, 118, initial_indent="  Lotse: ", subsequent_indent="         "))
            if len(lines) > MAX_ANSWER_LINES:
                print(f"         … ({len(lines) - MAX_ANSWER_LINES} weitere Zeilen)")


if __name__ == "__main__":
    main()
