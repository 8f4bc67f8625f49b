"""The documentation names what the code has: routes, events, RPC methods and source files.

Cheap checks that fail when the code moves and the docs stay behind: every HTTP route is in
``docs/api.md`` with the roles ``gateway/policy.py`` gives it and its success status, every event
type of the services' catalogs and every consumer queue in ``docs/events.md``, every ``@rpc`` in
its service's section of ``docs/rpc.md``, and every ``services/.../*.py`` (or ``gateway/...``,
``deploy/...``) path a doc names exists. No file names the documents the project was briefed from.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway.policy import EVERY_ROLE, ROUTE_ROLES
from gateway.routes import ROUTES
from services.kit.consumers import subscriptions
from services.kit.contract import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "deploy" / "README.md", *(ROOT / "docs").glob("*.md")])
SERVICES = ("consent", "referrals", "matching", "notifications", "engagement", "outcomes")
# A source path as the docs write it, e.g. services/matching/adapters/registry_cache.py.
TOP_FOLDERS = "services|gateway|network|tests|bench|deploy|scripts"
SOURCE_PATH = re.compile(rf"(?<![\w/.-])((?:{TOP_FOLDERS})/[\w/.-]*?\.py)\b")
# The kit's modules as docs/kit.md names them, e.g. kit/dependencies.py (under services/).
KIT_PATH = re.compile(r"(?<![\w/.-])(kit/[\w/.-]*?\.py)\b")
FORBIDDEN_NAMES = ("API.md", "DESIGN.md", "STACK.md", "STYLE.md")
ROLE_LETTERS = {"R": "referrer", "C": "coordinator", "A": "admin", "O": "operator", "F": "funder"}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _rpc_names(service: str) -> list[str]:
    tree = ast.parse(_text(ROOT / "services" / service / "service.py"))
    return [node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            and any(isinstance(d, ast.Name) and d.id in ("rpc", "verified_rpc") for d in node.decorator_list)]


def _route_row(route) -> list[str]:
    """The cells of the route's row in the routes table of docs/api.md."""
    prefix = f"| `{route.method} {route.path}` |"
    rows = [line for line in _text(ROOT / "docs" / "api.md").splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, f"{route.method} {route.path}: {len(rows)} rows in docs/api.md"
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", rows[0])[1:-1]]  # "\|" is a pipe in a cell


def _documented_roles(cell: str) -> frozenset[str]:
    """``R, A`` / ``C (assigned)`` / ``any`` / ``—`` as role names."""
    letters = re.sub(r"\(.*?\)", "", cell).replace(" ", "")
    if letters == "—":
        return frozenset()
    roles: set[str] = set()
    for letter in letters.split(","):
        roles |= EVERY_ROLE if letter == "any" else {ROLE_LETTERS[letter]}
    return frozenset(roles)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_every_route_is_in_the_api_doc_with_its_roles_and_status(route):
    _, roles, _, success, _ = _route_row(route)
    assert _documented_roles(roles) == ROUTE_ROLES[route.operation]
    assert success.startswith(str(route.status))


def test_the_role_column_reads_as_the_policy_writes():
    assert _documented_roles("R (holding a consent for them), A") == {"referrer", "admin"}
    assert _documented_roles("any") == EVERY_ROLE
    assert _documented_roles("—") == frozenset()
    assert _documented_roles("any, F (a session)") == EVERY_ROLE | {"funder"}


def test_every_catalog_event_type_is_in_the_events_doc():
    doc = _text(ROOT / "docs" / "events.md")
    types = list(CATALOG)  # every publisher's services/<svc>/catalog.py, through its entry point
    assert {"consent.revoked", "referral.requested", "match.proposed", "notification.failed"} <= set(types)
    assert [t for t in types if f"`{t}`" not in doc] == []


def test_every_consumer_queue_is_in_the_events_doc():
    doc = _text(ROOT / "docs" / "events.md")
    queues = subscriptions()
    assert "matching.on_referral_requested" in queues
    assert [queue for queue in queues if f"`{queue}`" not in doc] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_rpc_is_in_the_rpc_doc(service):
    doc = _text(ROOT / "docs" / "rpc.md")
    section = doc.split(f"\n## {service}\n", 1)[1].split("\n## ", 1)[0]
    names = _rpc_names(service)
    assert "ping" in names
    assert [name for name in names if f"`{name}(" not in section] == []


def test_every_source_path_in_the_docs_exists():
    named = [(doc.relative_to(ROOT).as_posix(), path) for doc in DOCS
             for path in [*SOURCE_PATH.findall(_text(doc)),
                          *(f"services/{kit}" for kit in KIT_PATH.findall(_text(doc)))]]
    assert len(named) > 50
    assert [(doc, path) for doc, path in named if not (ROOT / path).is_file()] == []


def test_the_source_path_pattern_finds_paths():
    text = "see `services/matching/adapters/registry_cache.py` and gateway/routes.py."
    assert SOURCE_PATH.findall(text) == ["services/matching/adapters/registry_cache.py", "gateway/routes.py"]
    assert KIT_PATH.findall("`kit/db.py`, not services/kit/db.py") == ["kit/db.py"]


def test_no_file_names_the_brief_documents():
    tracked = [p for p in ROOT.rglob("*") if p.is_file()
               and not any(part in {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache",
                                    ".ruff_cache", "var"} or part.endswith(".egg-info")
                           for part in p.relative_to(ROOT).parts)]
    offenders = []
    for path in tracked:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [(path.relative_to(ROOT).as_posix(), name) for name in FORBIDDEN_NAMES
                      if name in text and path != Path(__file__).resolve()]
    assert offenders == []
