"""`make run` with no pool configured: the demo prints a link that really resets a password."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from http import HTTPStatus
from pathlib import Path

import pytest
from emulator import Pool, free_port
from pwned_standin import DEMO_BREACHED

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_demo_link_resets_the_password(tmp_path: Path) -> None:
    site = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COGNITO_", "DJANGO_"))}
    env.update({"DEMO_SITE": site, "HOME": str(tmp_path)})
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        link = ""
        printed = []
        assert demo.stdout is not None
        for line in demo.stdout:
            printed.append(line)
            found = re.search(rf"{re.escape(site)}/reset/\?\S+", line)
            if found:
                link = found.group(0)
                break
        assert link, "the demo printed no link"
        # It says which passwords its offline breach list knows.
        (listed,) = [line for line in printed if "as breached" in line]
        assert all(password in listed for password in DEMO_BREACHED)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        assert query["username"] == ["demo@example.com"]

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(link, timeout=10) as response:
            assert response.url == f"{site}/reset/"  # redirected, code gone from the URL
            html = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        code = re.search(r'name="code" value="([^"]+)"', html)
        assert token
        assert code
        assert "we check this when you send the form" in html

        def form(password: str) -> urllib.request.Request:
            body = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token[1],
                    "username": "demo@example.com",
                    "code": code[1],
                    "new_password1": password,
                    "new_password2": password,
                }
            ).encode()
            return urllib.request.Request(
                f"{site}/reset/", data=body, headers={"Origin": site, "Referer": f"{site}/reset/"}
            )

        no_redirect = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect
        )
        # A password on the demo's breach list is refused, offline.
        breached = next(iter(DEMO_BREACHED))
        with pytest.raises(urllib.error.HTTPError) as refused:
            no_redirect.open(form(breached), timeout=10)
        assert refused.value.code == HTTPStatus.BAD_REQUEST
        assert "This password has appeared in a data breach" in refused.value.read().decode()

        new_password = "Demo-Works-Fine-9"
        request = form(new_password)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            no_redirect.open(request, timeout=10)
        assert redirected.value.code == HTTPStatus.FOUND
        assert redirected.value.headers["Location"] == "/reset/done/"

        state = (ROOT / ".demo" / "state.json").read_text()
        pool = Pool(**json.loads(state))
        assert pool.can_sign_in("demo@example.com", new_password)
    finally:
        demo.terminate()  # the demo stops its own server on SIGTERM
        demo.wait(timeout=30)
        server_left = _answers(site)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)  # and nothing of it may outlive the test
    assert not server_left, "the demo left its server running after SIGTERM"


def _answers(site: str) -> bool:
    try:
        with urllib.request.urlopen(f"{site}/healthz", timeout=2):
            return True
    except OSError:
        return False
