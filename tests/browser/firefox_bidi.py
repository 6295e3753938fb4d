"""Debian's Firefox ESR, for Playwright's WebDriver BiDi client (channel "moz-firefox").

Playwright can't download its own Firefox here, but it drives a stock Firefox over
WebDriver BiDi. Its client targets current Firefox releases and sends one command
that Firefox 153 ESR doesn't know yet: `emulation.setMediaFeaturesOverride`
(prefers-color-scheme emulation), sent at every new context. This program starts
Firefox, relays the BiDi WebSocket both ways, and answers that one command itself
with an empty success. Nothing else is changed, so a test that needs a colour scheme
stays Chromium-only.

Playwright starts this file as the browser (`executable_path`, through the wrapper
`engines.py` writes), with Firefox's own arguments, and reads the endpoint from the
"WebDriver BiDi listening on ws://…" line, as it does from Firefox.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys

import websockets

FIREFOX = "/usr/bin/firefox-esr"
ANSWERED_HERE = frozenset({"emulation.setMediaFeaturesOverride"})
LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


async def relay(client: websockets.ServerConnection, upstream: str) -> None:
    path = client.request.path if client.request else "/session"
    async with websockets.connect(upstream + path, max_size=None) as firefox:

        async def to_firefox() -> None:
            async for message in client:
                command = json.loads(message)
                if command.get("method") in ANSWERED_HERE:
                    answer = {"type": "success", "id": command["id"], "result": {}}
                    await client.send(json.dumps(answer))
                else:
                    await firefox.send(message)

        async def to_client() -> None:
            async for message in firefox:
                await client.send(message)

        tasks = [asyncio.create_task(to_firefox()), asyncio.create_task(to_client())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()


async def main(args: list[str]) -> int:
    browser = await asyncio.create_subprocess_exec(
        FIREFOX, *args, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert browser.stderr
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, browser.terminate)
    upstream = None
    while upstream is None:
        line = (await browser.stderr.readline()).decode(errors="replace")
        if not line:
            return await browser.wait()
        found = LISTENING.search(line)
        if found:
            upstream = found[1]
        else:
            sys.stderr.write(line)

    async def serve(client: websockets.ServerConnection) -> None:
        await relay(client, upstream)

    async with websockets.serve(serve, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        sys.stderr.write(f"WebDriver BiDi listening on ws://127.0.0.1:{port}\n")
        sys.stderr.flush()
        while line := (await browser.stderr.readline()).decode(errors="replace"):
            sys.stderr.write(line)
        return await browser.wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
