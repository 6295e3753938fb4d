"""A client for the Pwned Passwords range API. Pure: no Django, no boto3.

k-anonymity: only the first five hex characters of the password's SHA-1 leave
the server. The service answers every breached hash that starts with them, as
``SUFFIX:COUNT`` lines (the other 35 characters, upper case), and the client
looks for its own suffix locally. With ``Add-Padding: true`` the service adds
rows with a count of 0, so that the size of the answer reveals nothing about
the prefix; those rows are ignored.

A check never takes much longer than its timeout, whatever the service does:
the request runs in a thread of its own, which the caller stops waiting for at
the deadline (a stalled DNS lookup is not bounded by socket timeouts). The
answer is one ``Result``; nothing here logs, so the caller decides what to
write, and the prefix appears in no record made by this module.
"""

from __future__ import annotations

import contextvars
import enum
import hashlib
import re
import threading
import time
from dataclasses import dataclass

import urllib3

from .resilience import Bulkhead

MAX_IN_FLIGHT = 8
MAX_BODY = 1024 * 1024  # a real answer is ~40 KB with padding
_LINE = re.compile(rb"([0-9A-Fa-f]{35}):([0-9][0-9,]*)")


class Outcome(enum.StrEnum):
    """What a check found. Also the label a metrics counter would use."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"  # slow, down or nonsense: the caller fails open or closed
    SKIPPED = "skipped"  # the check is turned off


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""  # for ERROR: timeout, unreachable, http_<status>, malformed, too_large
    count: int = 0  # for FOUND: how often the password was seen


class MalformedRange(ValueError):
    """The answer is not a range of ``SUFFIX:COUNT`` lines."""


def sha1_parts(password: str) -> tuple[str, str]:
    """The upper-case SHA-1 of ``password``, split into the 5-character prefix and the rest."""
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    return digest[:5], digest[5:]


def count_in_range(body: bytes, suffix: str) -> int:
    """How often ``suffix`` appears in a range answer; 0 when absent or a padding row.

    Raises MalformedRange unless every non-empty line is ``SUFFIX:COUNT``, and
    for an empty answer: the real service never sends one (every prefix has
    hundreds of entries), so an empty page means a broken mirror, not "safe".
    """
    wanted = suffix.upper().encode("ascii")
    found = 0
    rows = 0
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise MalformedRange
        rows += 1
        if match[1].upper() == wanted:
            found = int(match[2].replace(b",", b""))
    if rows == 0:
        raise MalformedRange
    return found


class RangeClient:
    """Checks passwords against one range endpoint. Thread-safe; keep one per process."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        max_in_flight: int = MAX_IN_FLIGHT,
        user_agent: str = "cognito-reset-site",
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.user_agent = user_agent
        # Requests still running, those given up on at their deadline included: a
        # service (or its DNS) that stalls ties up at most this many lookups and
        # connections, so it can't crowd out the process's other network calls.
        self._in_flight = Bulkhead(max_in_flight)
        self._http = urllib3.PoolManager(
            num_pools=2,
            maxsize=max_in_flight,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )

    def check(self, password: str) -> Result:
        prefix, suffix = sha1_parts(password)
        return self.check_hash(prefix, suffix)

    def check_hash(self, prefix: str, suffix: str) -> Result:
        """The check for a SHA-1 already split by ``sha1_parts``."""
        if not self._in_flight.try_enter():
            return Result(Outcome.ERROR, "busy")
        box: list[Result] = []
        # The request's context (log redaction, request id) goes along into the thread.
        context = contextvars.copy_context()
        worker = threading.Thread(
            target=context.run,
            args=(self._fetch, prefix, suffix, box),
            name="pwned-check",
            daemon=True,
        )
        try:
            worker.start()
        except RuntimeError:  # no thread to be had: as good as no answer
            self._in_flight.leave()
            return Result(Outcome.ERROR, "no_thread")
        worker.join(self.timeout)
        return box[0] if box else Result(Outcome.ERROR, "timeout")

    def _fetch(self, prefix: str, suffix: str, box: list[Result]) -> None:
        try:
            box.append(self._request(prefix, suffix))
        finally:
            self._in_flight.leave()

    def _request(self, prefix: str, suffix: str) -> Result:
        deadline = time.monotonic() + self.timeout
        try:
            response = self._http.request(
                "GET",
                self.url + prefix,
                headers={
                    "Add-Padding": "true",
                    "User-Agent": self.user_agent,
                    "Accept-Encoding": "identity",
                },
                preload_content=False,
                redirect=False,
            )
        except urllib3.exceptions.NewConnectionError:  # refused, DNS (a ConnectTimeoutError)
            return Result(Outcome.ERROR, "unreachable")
        except urllib3.exceptions.TimeoutError:
            return Result(Outcome.ERROR, "timeout")
        except Exception:  # reset, TLS, a broken answer: the service is not there for us
            return Result(Outcome.ERROR, "unreachable")
        complete = False
        try:
            if response.status != 200:
                return Result(Outcome.ERROR, f"http_{response.status}")
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    return Result(Outcome.ERROR, "timeout")
                chunk = response.read1(65536)
                if not chunk:
                    break
                body += chunk
                if len(body) > MAX_BODY:
                    return Result(Outcome.ERROR, "too_large")
            complete = True
        except urllib3.exceptions.TimeoutError:
            return Result(Outcome.ERROR, "timeout")
        except Exception:
            return Result(Outcome.ERROR, "unreachable")
        finally:
            if not complete:  # unread data: the connection can't be reused
                response.close()
            response.release_conn()
        try:
            count = count_in_range(bytes(body), suffix)
        except MalformedRange:
            return Result(Outcome.ERROR, "malformed")
        return Result(Outcome.FOUND, count=count) if count > 0 else Result(Outcome.NOT_FOUND)
