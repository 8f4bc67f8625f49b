"""Which language a page is written in, and the translations of each language.

The person's own choice (made with the language switcher, kept in a cookie) wins; otherwise the
browser's ``Accept-Language`` decides, by quality; otherwise English. Catalogs are the gettext
``.po`` files under ``console/translations/<language>/LC_MESSAGES/messages.po``, compiled in
memory when the gateway starts.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT = "en"
# English is the source language; each other language has a catalog.
LANGUAGES = {"en": "English", "es": "Español"}
TRANSLATIONS = Path(__file__).with_name("translations")


def _primary(tag: str) -> str:
    return tag.strip().split("-", 1)[0].split("_", 1)[0].lower()


def parse_accept_language(header: str | None) -> list[str]:
    """The primary language subtags of an ``Accept-Language`` header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, _primary(tag)))
    return [tag for _, _, tag in sorted(ranked)]


def choose(choice: str | None, accept_language: str | None) -> str:
    """The page's language: a supported ``choice``, else the best supported Accept-Language one."""
    if choice and _primary(choice) in LANGUAGES:
        return _primary(choice)
    for tag in parse_accept_language(accept_language):
        if tag in LANGUAGES:
            return tag
    return DEFAULT


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (English: the messages as written)."""
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
