"""What the participant reads, in their language: one catalog file per language.

``services/engagement/languages/<tag>.json`` holds the texts (``opt_in``, ``checkin``, ``help``,
``crisis`` ...) and the words the service listens for (``words``: ``yes``, ``stop``, ``help``,
``crisis``). Adding a language is adding a file. A tag without a file falls back to its primary
subtag (``es-MX`` → ``es``), then to English; a text missing from a file falls back to English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parents[1] / "languages"
FALLBACK = "en"


@dataclass(frozen=True)
class Catalog:
    language: str
    direction: str
    texts: dict[str, Any]
    words: dict[str, tuple[str, ...]]

    def text(self, name: str, **values: str) -> str:
        template = self.texts.get(name)
        if template is None:
            template = catalog(FALLBACK).texts[name]
        return str(template).format(**values)


@cache
def available() -> tuple[str, ...]:
    """The languages with a catalog file, sorted."""
    return tuple(sorted(path.stem for path in FOLDER.glob("*.json")))


@cache
def _load(tag: str) -> Catalog:
    document = json.loads((FOLDER / f"{tag}.json").read_text(encoding="utf-8"))
    words = {kind: tuple(values) for kind, values in document.pop("words", {}).items()}
    document.pop("language", None)
    return Catalog(tag, document.pop("direction", "ltr"), document, words)


def resolve(tag: str | None) -> str:
    """The catalog language for a BCP 47 tag: itself, its primary subtag, else English."""
    if tag:
        for candidate in (tag, tag.split("-")[0].lower()):
            if candidate in available():
                return candidate
    return FALLBACK


def catalog(tag: str | None) -> Catalog:
    return _load(resolve(tag))
