"""Service configuration: one YAML file per service with ``${VAR:default}`` substitution.

Secrets never sit in these files; they come from the environment through the
same substitution (``${LEDGER_KEY}`` with no default must be set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed."""


def substitute(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace every ``${VAR}`` / ``${VAR:default}`` in ``text`` from the environment.

    Raises ``ConfigError`` naming the variable when one without a default is unset.
    """
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is None:
            raise ConfigError(f"environment variable {name} is required")
        return default

    return _VAR.sub(replace, text)


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read a service's YAML config, substituting environment variables in its values.

    As under ``nameko run``, a substituted value is read as YAML (``"5"`` becomes 5),
    and comments are left alone (a comment may mention ``${VAR}``).
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return _substitute_values(data, environ)


def _substitute_values(value: Any, environ: dict[str, str] | None) -> Any:
    if isinstance(value, dict):
        return {key: _substitute_values(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_values(item, environ) for item in value]
    if isinstance(value, str) and _VAR.search(value):
        return yaml.safe_load(substitute(value, environ))
    return value
