"""Service configuration: one YAML file per service with ``${VAR:default}`` substitution.

Secrets never sit in these files; they come from the environment through the
same substitution (``${LEDGER_KEY}`` with no default must be set). On a development
machine, a variable that is unset and has no default is read from the secrets `make run`
generated (``var/secrets.env`` under the working directory, or under ``$REFERRAL_NETWORK_VAR``),
so ``.venv/bin/referral-network ...`` run from the project root works against `make run`'s network.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

DEVELOPMENT_SECRETS = "secrets.env"
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}")


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed."""


def development_secrets_file() -> Path:
    """Where `make run` keeps its development secrets: ``$REFERRAL_NETWORK_VAR`` or ./var."""
    return Path(os.environ.get("REFERRAL_NETWORK_VAR") or Path.cwd() / "var") / DEVELOPMENT_SECRETS


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path`` (comments and blank lines skipped); {} if it is absent."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def substitute(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace every ``${VAR}`` / ``${VAR:default}`` in ``text`` from the environment.

    With the process environment (``environ`` None), a variable that is unset and has no
    default is looked up in the development secrets file. Raises ``ConfigError`` naming the
    variable, and where it was looked for, when it is found nowhere.
    """
    env = os.environ if environ is None else environ
    development: dict[str, str] | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal development
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is not None:
            return default
        if environ is None:
            development = read_env_file(development_secrets_file()) if development is None else development
            if name in development:
                return development[name]
            raise ConfigError(f"environment variable {name} is required (set it, or run from the project "
                              f"root after `make run` created {development_secrets_file()})")
        raise ConfigError(f"environment variable {name} is required")

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
