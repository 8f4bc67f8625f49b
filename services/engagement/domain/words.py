"""What a participant's text means: a crisis, STOP, HELP, YES, a score from 1 to 5, or a word.

Keywords are matched on the whole message (as carriers do for STOP and HELP), case, accents and
surrounding punctuation ignored, in every language the network speaks: someone who writes PARAR
to an English check-in has still asked to stop. Crisis phrases are matched anywhere in the
message, also in every language, and win over everything else: a message that both says STOP and
names a crisis is answered as a crisis first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.engagement.domain.languages import available, catalog

CRISIS, STOP, HELP, YES, SCORE, WORD = "crisis", "stop", "help", "yes", "score", "word"
_PUNCTUATION = re.compile(r"[\s.,;:!?¡¿\"'()\[\]،。，！？…-]+")


def normalize(text: str) -> str:
    """Case folded, accents dropped, punctuation and runs of spaces made one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _PUNCTUATION.sub(" ", bare).strip()


@dataclass(frozen=True)
class Reading:
    kind: str
    score: int | None = None
    word: str | None = None


class Vocabulary:
    """The keywords of every catalog, and the crisis phrases (configurable per language)."""

    def __init__(self, crisis_words: Mapping[str, Sequence[str]] | None = None) -> None:
        self.keywords: dict[str, set[str]] = {STOP: set(), HELP: set(), YES: set()}
        self.crisis: set[str] = set()
        overrides = dict(crisis_words or {})
        for tag in sorted(set(available()) | set(overrides)):
            words = catalog(tag).words if tag in available() else {}
            for kind in self.keywords:
                self.keywords[kind].update(normalize(w) for w in words.get(kind, ()))
            phrases = overrides.get(tag, words.get(CRISIS, ()))
            self.crisis.update(normalize(p) for p in phrases if normalize(p))

    def read(self, text: str) -> Reading:
        said = normalize(text)
        if self.is_crisis(said):
            return Reading(CRISIS)
        for kind in (STOP, HELP, YES):
            if said in self.keywords[kind]:
                return Reading(kind)
        if said.isdigit() and 1 <= int(said) <= 5:
            return Reading(SCORE, score=int(said))
        return Reading(WORD, word=said[:40] or None)

    def is_crisis(self, said: str) -> bool:
        padded = f" {said} "
        for phrase in self.crisis:
            # Scripts written without spaces (Chinese) match inside words; others on word edges.
            if _spaced(phrase) and f" {phrase} " in padded:
                return True
            if not _spaced(phrase) and phrase in said:
                return True
        return False


def _spaced(phrase: str) -> bool:
    return not any("\u4e00" <= ch <= "\u9fff" for ch in phrase)
