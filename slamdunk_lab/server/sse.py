"""Server-sent events from a run's Redis stream: every event once, in order, resumable with ``Last-Event-ID``.

Each SSE message carries the stream id of the event it came from (``id:``), so a client that reconnects with
``Last-Event-ID`` (browsers do it by themselves) continues right after the last event it got: no gap, no
duplicate. When one stream entry becomes several messages (the original project's API sends an event and a
``status`` for some), only the last one carries the id, so a cut between them sends the entry again whole.
A comment line (``: keep-alive``) goes out every :data:`KEEPALIVE` seconds of silence so proxies keep the
connection open.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

KEEPALIVE = 15.0
TERMINAL = ("Finished", "Stopped", "Failed")


def message(data: dict, event: str | None = None, ident: str | None = None) -> bytes:
    lines = []
    if ident:
        lines.append(f"id: {ident}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


async def stream(redis, key: str, last_id: str, render: Callable[[str, dict], list[bytes]],
                 first: list[bytes] | None = None, check_lost: Callable[[], object] | None = None,
                 keepalive: float = KEEPALIVE) -> AsyncIterator[bytes]:
    """Yield the SSE messages of the stream ``key`` after ``last_id`` until the run's final event.

    ``render(stream_id, event)`` turns one event into messages; ``first`` goes out before any event;
    ``check_lost`` is called now and then while the stream is silent (it marks a run whose worker died).
    A ``Lost`` event ends the stream too (a run delivered again continues in a new connection)."""
    for chunk in first or []:
        yield chunk
    quiet_since = time.monotonic()
    last_check = 0.0
    while True:
        got = await redis.xread({key: last_id}, count=500, block=1000)
        entries = [(sid, json.loads(fields["e"])) for _, items in got or [] for sid, fields in items]
        for sid, event in entries:
            last_id = sid
            for chunk in render(sid, event):
                yield chunk
            if event.get("type") in TERMINAL or event.get("type") == "Lost":
                return
        now = time.monotonic()
        if entries:
            quiet_since = now
        elif now - quiet_since >= keepalive:
            quiet_since = now
            yield b": keep-alive\n\n"
        if not entries and check_lost is not None and now - last_check >= 1.0:
            last_check = now
            check_lost()
