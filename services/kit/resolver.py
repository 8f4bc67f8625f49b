"""Name lookups in a service process: the system's resolver, waited for on a real thread.

Every process runs with ``EVENTLET_NO_GREENDNS=yes`` (``network/processes.py``): eventlet's green
resolver imports dnspython twice over, about 8 MB of each process. Without it, eventlet leaves
``getaddrinfo`` and its kin to the C library, and a lookup would stop every green thread of the
process until the answer came: a slow DNS server would stall a whole gateway while it fetched one
SMART client's key set. ``resolve_on_threads`` makes each lookup run on eventlet's pool of real
threads, so only the green thread that asked waits, as with the green resolver.

Each service module calls it once, at import: ``nameko run`` has patched the world by then and
nothing has resolved a name yet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from services.kit.threads import eventlet_patched

LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "getnameinfo")


def resolve_on_threads() -> bool:
    """Send the socket module's lookups to eventlet's thread pool in a process eventlet patched
    without its green resolver. True when they go there (now or already); False where there is
    nothing to do: no eventlet patching, or the green resolver is in use."""
    import socket

    if not eventlet_patched("socket"):
        return False
    from eventlet.green import socket as green_socket

    if socket.getaddrinfo.__module__ == __name__:
        return True
    if socket.getaddrinfo.__module__.startswith("eventlet"):  # eventlet.support.greendns
        return False
    for name in LOOKUPS:
        threaded = on_threads(getattr(socket, name))  # the system's, as eventlet left them
        setattr(socket, name, threaded)
        setattr(green_socket, name, threaded)  # what eventlet's create_connection calls
    return True


def on_threads(lookup: Callable[..., Any]) -> Callable[..., Any]:
    """``lookup``, run on eventlet's pool of real threads."""
    from eventlet import tpool

    @functools.wraps(lookup)
    def threaded(*args: Any, **kwargs: Any) -> Any:
        return tpool.execute(lookup, *args, **kwargs)

    threaded.__module__ = __name__
    return threaded
