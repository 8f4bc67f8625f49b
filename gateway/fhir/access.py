"""SMART on FHIR scopes: which FHIR interactions a caller's token allows.

``require_scope(caller, resource_type, interaction)`` is the one check every ``/fhir`` route makes
after the caller's roles (``gateway/policy.py`` rules for FHIR routes too, through
``gateway/fhir/routes.py``). It allows everything when the caller carries no scopes: an API key
or a person's session, authenticated exactly as ``/v1`` authenticates them, has none, and its
roles alone decide. A caller with a ``scopes`` attribute (or key, for a mapping), as a SMART
backend-services token will give one, must hold a scope that covers the interaction:

- SMART v2 system scopes ``system/<Type>.<letters>`` with letters from ``cruds`` in that order
  (``c`` create, ``r`` read, ``u`` update, ``d`` delete, ``s`` search), e.g. ``system/Task.rs``,
  ``system/ServiceRequest.c``, ``system/*.cruds``;
- the SMART v1 forms ``system/<Type>.read`` (``rs``), ``.write`` (``cud``) and ``.*`` (all).

A v2 scope may carry a query (``system/Task.rs?status=requested``); such a restricted scope is
not honoured here (it allows nothing) rather than read as unrestricted. ``interaction`` is one of
``create``, ``read``, ``update``, ``delete``, ``search`` (or its letter). Raises ``Forbidden``
(``forbidden``, as any role refusal) when no scope allows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.smart import scope_allows
from services.kit.errors import Forbidden

INTERACTIONS = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}


def scopes_of(caller: Any) -> list[str] | None:
    """The caller's scopes, or None when it carries none (then roles alone decide)."""
    if isinstance(caller, Mapping):
        scopes = caller.get("scopes")
    else:
        scopes = getattr(caller, "scopes", None)
    if scopes is None:
        return None
    if isinstance(scopes, str):
        return scopes.split()
    return [str(scope) for scope in scopes]


def allows(scopes: Iterable[str], resource_type: str, interaction: str) -> bool:
    """Whether ``scopes`` allow ``interaction`` (a name or its letter) on ``resource_type``: the
    token endpoint's own reading of scopes (``gateway.smart.scope_allows``)."""
    return scope_allows(scopes, resource_type, INTERACTIONS.get(interaction, interaction))


def require_scope(caller: Any, resource_type: str, interaction: str) -> None:
    """Allow ``interaction`` on ``resource_type`` for ``caller``, or raise ``Forbidden``."""
    scopes = scopes_of(caller)
    if scopes is None:
        return
    if not allows(scopes, resource_type, interaction):
        letter = INTERACTIONS.get(interaction, interaction)
        raise Forbidden(f"The token's scopes do not allow this: it needs system/{resource_type}.{letter}.")
