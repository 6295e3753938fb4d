"""gunicorn's gevent worker, stopped without cutting anyone off (docs/operations.md, "Rollout").

On SIGTERM, gunicorn's own GeventWorker closes its listening socket, waits for
its connections in steps of a second, and exits. Under load that cut people off:

- A connection accepted just before the close is handled by a greenlet that
  first reads the listener's address (``listener.getsockname()``), which is
  then closed: ``OSError: [Errno 9] Bad file descriptor``, an error line
  ("Socket error processing request.") and a connection closed unanswered.
  Here the address is read once, at start.
- Connections the kernel had already completed (the listen backlog) were reset
  by the close. Here the worker stops accepting, then accepts and serves every
  connection still queued, and only then closes the socket.
- A keep-alive connection waiting for its next request kept the worker for up
  to WEB_KEEPALIVE seconds. Here one with nothing unread is closed at once
  (a FIN: clients send their next request on a new connection).
- The worker noticed SIGTERM, and the end of its last request, up to a second
  late. Here it stops accepting at once and exits as soon as the last answer is
  sent, or at WEB_GRACEFUL_TIMEOUT.

And a SIGTERM that arrives while a worker boots is kept (``catch_early_stop``,
from the post_fork hook): gunicorn's worker installs its signal handlers only
after monkey-patching and loading the app, and a signal before that went to the
handler inherited from the master, was lost, and the master waited out the whole
graceful timeout before killing the worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import os
import queue
import signal
import socket
import struct
import sys
import termios
import time
from functools import partial
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn.sock import ssl_context
from gunicorn.workers.ggevent import GeventWorker

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
HANDSHAKE_PAUSE = 0.05  # a round trip to the load balancer, with room to spare
SO_ATTACH_FILTER = 26  # Linux
# Classic BPF over the TCP header: pass anything with ACK set (handshakes under
# way, established traffic), drop a bare SYN (a new connection), pass the rest.
SYN_FILTER = (
    (0x30, 0, 0, 13),  # ldb [13]: the flags
    (0x45, 2, 0, 0x10),  # jset ACK -> pass
    (0x45, 0, 1, 0x02),  # jset SYN -> drop, else pass
    (0x06, 0, 0, 0),  # drop
    (0x06, 0, 0, 0xFFFFFFFF),  # pass
)


class _Listener:
    """The listening socket, with the address it had when the worker started."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._name = sock.getsockname()

    def getsockname(self) -> Any:
        return self._name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class Worker(GeventWorker):  # type: ignore[misc]
    """A drop-in for gunicorn's "gevent" worker class (StreamServer, not pywsgi)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stopping: Event | None = None  # made after the fork: the hub is per process
        self._connections: dict[Any, Any] = {}  # greenlet -> client socket
        self._busy: set[Any] = set()  # greenlets inside a request
        self._served: set[Any] = set()  # greenlets whose connection had a request

    # --- bookkeeping: which connections sit idle between requests ------------------

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        current = gevent.getcurrent()
        self._connections[current] = client
        try:
            super().handle(listener, client, addr)
        finally:
            self._connections.pop(current, None)
            self._served.discard(current)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        current = gevent.getcurrent()
        self._busy.add(current)
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            self._busy.discard(current)
            self._served.add(current)

    def init_signals(self) -> None:
        super().init_signals()
        # gevent's own watcher wakes the loop at once; the handler gunicorn sets
        # runs only when the loop next returns to Python, up to a second later.
        gevent.signal_handler(signal.SIGTERM, self._stop)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._stop()

    def _stop(self) -> None:
        self.alive = False
        if self._stopping is not None:
            self._stopping.set()

    # --- the main loop -----------------------------------------------------------

    def run(self) -> None:
        self._stopping = Event()
        ssl_args = {"ssl_context": ssl_context(self.cfg)} if self.cfg.is_ssl else {}
        servers: list[tuple[StreamServer, Pool]] = []
        for sock in self.sockets:
            sock.setblocking(1)
            pool = Pool(self.worker_connections)
            handle = partial(self.handle, _Listener(sock))
            server = StreamServer(sock, handle=handle, spawn=pool, **ssl_args)
            if self.cfg.workers > 1:
                server.max_accept = 1
            server.start()
            servers.append((server, pool))

        while self.alive:
            self.notify()
            self._stopping.wait(1.0)

        deadline = time.monotonic() + self.cfg.graceful_timeout
        for server, _ in servers:
            self._drain(server)
        self._close_idle()
        for server, pool in servers:
            while not pool.join(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
                    server.stop(timeout=1)
                    break
                self.notify()
        # Exiting now: without this, the collector walks every object the process
        # ever made, Django and botocore included, which took ~0.5-1 s here.
        gc.freeze()

    def _drain(self, server: StreamServer) -> None:
        """Serve every connection the kernel has completed, then close the listener."""
        server.stop_accepting()
        listener = server.socket
        # While the master holds the socket (a worker restarted alone), closing ours
        # resets nothing: the next worker accepts what is queued. When it has let go
        # (shutting down), the last close resets every queued connection, so take
        # them all first; new ones are held off meanwhile, or the queue could refill
        # for as long as clients keep coming.
        if _master_let_go(listener):
            # Without the filter (not Linux), one pass, at most one backlog's worth.
            held_off = _refuse_new_connections(listener)
            for pause in (0.0, HANDSHAKE_PAUSE) if held_off else (0.0,):
                gevent.sleep(pause)  # then once more: handshakes already under way
                for _ in range(self.cfg.backlog):
                    try:
                        accepted = server.do_read()
                    except OSError:
                        break
                    if not accepted:
                        break
                    server.do_handle(*accepted)  # waits for a free slot if the pool is full
        server.close()

    def _close_idle(self) -> None:
        """Close keep-alive connections that wait for a next request and have none."""
        for current, client in list(self._connections.items()):
            if current in self._busy or current not in self._served:
                continue  # inside a request, or its first one is still on its way
            try:
                unread = fcntl.ioctl(client.fileno(), termios.FIONREAD, b"\0\0\0\0")
                if struct.unpack("i", unread)[0]:
                    continue  # a request has come in: it is answered, then closed
                # The greenlet's read then sees end-of-file, and it closes the
                # connection. (Through a duplicate: gevent's own shutdown() would
                # make the read raise instead, and gunicorn log an error.)
                with socket.socket(fileno=os.dup(client.fileno())) as duplicate:
                    duplicate.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # already gone


def _master_let_go(listener: Any) -> bool:
    """Whether the master process no longer holds this listening socket."""
    try:
        held = f"socket:[{os.fstat(listener.fileno()).st_ino}]"
        for fd in Path(f"/proc/{os.getppid()}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == held:
                    return False
    except OSError:
        return False  # no /proc: act as if it still held it
    return True


def _refuse_new_connections(listener: Any) -> bool:
    """Drop new connections' SYNs (Linux socket filter); those under way complete.

    A dropped SYN is sent again a second later; by then the socket is closed and
    the client is refused, which a load balancer may retry elsewhere, as nothing
    was sent. Completed connections stay queued for the drain.
    """
    if sys.platform != "linux" or listener.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    program = b"".join(struct.pack("HBBI", *op) for op in SYN_FILTER)
    code = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(SYN_FILTER), ctypes.addressof(code))
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True


def catch_early_stop(server: Any, worker: Any) -> None:
    """From post_fork: a stop signal before the worker's own handlers still stops it."""

    def stop(sig: int, frame: Any) -> None:
        worker.alive = False

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    # One that came between the fork and now went to the master's handler, which
    # queued it in this process's copy of the master's queue.
    while True:
        try:
            sig = server.SIG_QUEUE.get_nowait()
        except queue.Empty:
            break
        if sig in STOP_SIGNALS:
            worker.alive = False
