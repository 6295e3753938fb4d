"""`make run` with no pool configured: the demo prints a link that really resets a password."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
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
    lines: queue.Queue[str] = queue.Queue()
    output = demo.stdout
    assert output is not None

    def read() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    printed: list[str] = []

    def next_link() -> str:
        """The next link the demo prints, framed, and the lines printed up to it."""
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                pytest.fail("the demo printed no link:\n" + "".join(printed))
            printed.append(line)
            found = re.search(rf"\| +({re.escape(site)}/reset/\?\S+) +\|", line)
            if found:
                assert re.fullmatch(r" +\+-+\+\n", lines.get(timeout=10))  # the frame's end
                return found.group(1)

    try:
        link = next_link()
        # It says which passwords its offline breach list knows, and that limits are relaxed.
        (listed,) = [line for line in printed if "as breached" in line]
        assert all(password in listed for password in DEMO_BREACHED)
        assert [line for line in printed if "Rate limits are relaxed" in line]
        assert not [line for line in printed if '"http_request"' in line]  # no access log
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        assert query["username"] == ["demo@example.com"]
        assert re.fullmatch(r"\d{6}", query["code"][0])  # what a phone's number pad types

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

        def form(password: str, typed_code: str = "") -> urllib.request.Request:
            body = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": token[1],
                    "username": "demo@example.com",
                    "code": typed_code or code[1],
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
        # A wrong code is refused, and more than five tries are not rate limited.
        for _ in range(6):
            wrong = form("Demo-Works-Fine-9", "000000")
            with pytest.raises(urllib.error.HTTPError) as refused:
                no_redirect.open(wrong, timeout=10)
            assert refused.value.code == HTTPStatus.BAD_REQUEST
            assert "This code is wrong" in refused.value.read().decode()
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

        # "Sign in" on the done page: the demo's page tries the new password.
        with opener.open(f"{site}/reset/done/", timeout=10) as response:
            sign_in = re.search(
                r'<a class="button primary" href="([^"]+)"', response.read().decode()
            )
        assert sign_in
        assert sign_in[1] == "/demo/sign-in/"
        with opener.open(f"{site}{sign_in[1]}", timeout=10) as response:
            page = response.read().decode()
        check_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert check_token
        assert 'value="demo@example.com"' in page
        check = {"csrfmiddlewaretoken": check_token[1], "username": "demo@example.com"}
        for password, verdict in [(new_password, "These work"), ("Old-Password-1", "don")]:
            tried = urllib.request.Request(
                f"{site}{sign_in[1]}",
                data=urllib.parse.urlencode({**check, "password": password}).encode(),
                headers={"Origin": site, "Referer": f"{site}{sign_in[1]}"},
            )
            with opener.open(tried, timeout=10) as response:
                answer = response.read().decode()
            assert verdict in answer
            assert password not in answer

        state = (ROOT / ".demo" / "state.json").read_text()
        pool = Pool(**json.loads(state))
        assert pool.can_sign_in("demo@example.com", new_password)

        # "Get a new code": the demo prints a new ready link instead of emailing it.
        with opener.open(f"{site}/forgot/", timeout=10) as response:
            forgot_token = re.search(
                r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode()
            )
        assert forgot_token
        body = {"csrfmiddlewaretoken": forgot_token[1], "username": "demo@example.com"}
        sent = urllib.request.Request(
            f"{site}/forgot/",
            data=urllib.parse.urlencode(body).encode(),
            headers={"Origin": site, "Referer": f"{site}/forgot/"},
        )
        with opener.open(sent, timeout=10) as response:
            assert response.url == f"{site}/forgot/sent/"
        again = urllib.parse.parse_qs(urllib.parse.urlsplit(next_link()).query)
        assert again["username"] == ["demo@example.com"]
        assert again["code"] != query["code"]
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
