"""Start a real redis-server on a free loopback port, saving nothing to disk."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from emulator import free_port

PROCESS_ID = re.compile(r"\r\nprocess_id:(\d+)\r\n")


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: run `make system-deps` "
                "(or apt-get install redis-server)"
            )
        self.workdir = workdir
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self._use(free_port())

    def _use(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> RedisServer:
        """Start it; if another process took the port meanwhile, again on another one.

        The port was only found free, and redis-server binds it itself: a server that
        answers there may be someone else's, so ours is known by its process id.
        """
        for _ in range(3):
            if self._start_once():
                return self
            self._use(free_port())
        raise RuntimeError("redis-server found no free port")

    def _start_once(self) -> bool:
        args = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, *args],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # it could not bind the port
            found = self._answering_pid()
            if found == self.process.pid:
                return True
            if found is not None:  # someone else's server answers there
                self.stop()
                return False
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def _answering_pid(self) -> int | None:
        """The process id of the redis answering on our port, -1 for another kind of
        server, None for no answer (yet)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"INFO server\r\n")
                info = ""
                while not PROCESS_ID.search(info) and len(info) < 65536:
                    chunk = sock.recv(65536).decode("latin-1")
                    if not chunk:
                        break
                    info += chunk
        except OSError:
            return None
        found = PROCESS_ID.search(info)
        return int(found[1]) if found else -1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
