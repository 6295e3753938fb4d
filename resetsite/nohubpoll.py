"""urllib3's dropped-connection check, answered without a trip through gevent's hub.

Before reusing a pooled keep-alive connection, urllib3 asks whether the peer has
closed it: ``wait_for_read(sock, timeout=0)``, a ``poll()`` that returns at once.
Under gevent's monkey-patching that ``poll`` is gevent's, which yields to the hub
even with a zero timeout, so every Cognito call waited for all other ready
greenlets just before sending, and requests moved in lockstep (docs/benchmarks.md).

A zero-timeout ``poll`` of the operating system never blocks, so it is safe to
call from a greenlet. ``install()`` routes only the zero-timeout checks to it;
any real wait stays gevent's. It is installed once per worker process by
resetsite/wsgi.py, after the gevent worker has patched the standard library.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable

_Wait = Callable[..., bool]


def _no_hub_wait(real_poll: Callable[[], select.poll], cooperative: _Wait) -> _Wait:
    def wait_for_socket(
        sock: socket.socket, read: bool = False, write: bool = False, timeout: float | None = None
    ) -> bool:
        if timeout != 0:  # a real wait: other greenlets run meanwhile
            return cooperative(sock, read, write, timeout)
        poller = real_poll()
        poller.register(sock, (select.POLLIN if read else 0) | (select.POLLOUT if write else 0))
        return bool(poller.poll(0))

    wait_for_socket.no_hub = True  # type: ignore[attr-defined]
    return wait_for_socket


def install() -> bool:
    """Answer urllib3's zero-timeout socket checks with the system's poll; True if done.

    Does nothing where gevent has not patched ``select`` (tests, management commands).
    """
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    if not monkey.is_module_patched("select"):
        return False
    from urllib3.util import wait

    if not getattr(wait.wait_for_socket, "no_hub", False):
        real_poll = monkey.get_original("select", "poll")
        # wait_for_read/wait_for_write look this name up on every call.
        wait.wait_for_socket = _no_hub_wait(real_poll, wait.poll_wait_for_socket)
    return True
