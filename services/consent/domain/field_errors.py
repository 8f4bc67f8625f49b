"""Collecting validation problems by field path, so one answer names all of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from services.consent.domain.elements import parse_instant

MISSING = "missing"


class FieldErrors:
    """Problems found so far, keyed by field path (``signature.signer_name``)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def text(self, data: Mapping, key: str, path: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.add(path, MISSING)
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, "must be non-empty text")
            return None
        return value.strip()

    def instant(self, data: Mapping, key: str, *, required: bool = True) -> datetime | None:
        if data.get(key) is None:
            if required:
                self.add(key, MISSING)
            return None
        try:
            return parse_instant(data[key])
        except ValueError as exc:
            self.add(key, str(exc))
            return None

    def choices(self, data: Mapping, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """A non-empty list of distinct values taken from ``allowed``."""
        value = data.get(key)
        if not value:
            self.add(key, MISSING)
            return ()
        if not isinstance(value, list | tuple):
            self.add(key, "must be a list")
            return ()
        for i, item in enumerate(value):
            if item not in allowed:
                self.add(f"{key}.{i}", f"must be one of {', '.join(allowed)}")
        return tuple(dict.fromkeys(v for v in value if v in allowed))

    def optional_list(self, data: Mapping, key: str, path: str) -> list:
        """The list under ``key``, or an empty one (noting the problem if it is not a list)."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list | tuple):
            self.add(path, "must be a list")
            return []
        return list(value)

    def unknown(self, data: Mapping, known: tuple[str, ...], prefix: str = "") -> None:
        # An unexpected field may hold personal details nobody meant to store.
        for key in data:
            if key not in known:
                self.add(f"{prefix}{key}", "unknown field")
