"""Body limits against a real server (uvicorn on 127.0.0.1): refused while streaming, before anything parses.

The client is a raw socket, so the test sees exactly when the server's answer
arrives relative to the bytes sent: a 413 that comes only after the whole body
would mean the body was read whole first.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from bot.conversation import Context
from bot.settings import Settings
from bot.web.app import create_app
from bot.web.bodylimit import DEFAULT_LIMIT, limit_for
from tests.bot.channels.conftest import LINE_SECRET
from tests.fakes.line_api import FakeLine
from tests.fakes.serve import serve_in_thread

CHUNK = 64 * 1024
TOTAL = 8 * 1024 * 1024  # far over every limit


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ctx: Context) -> Iterator[str]:
    line = FakeLine()
    with serve_in_thread(line.app) as line_url:
        database = tmp_path_factory.mktemp("bodies") / "bodies.db"
        settings = Settings(
            **{
                "MADOGUCHI_DATABASE_URL": f"sqlite:///{database}",
                "LINE_CHANNEL_SECRET": LINE_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": "test-access-token",
                "LINE_API_BASE_URL": line_url,
            }
        )
        with serve_in_thread(create_app(settings, ctx=ctx, workers=False)) as base_url:
            yield base_url


@dataclass
class Answer:
    status: int
    sent: int  # body bytes sent when the answer was there


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10)


def _status(sock: socket.socket) -> int:
    head = sock.recv(4096)
    return int(head.split(b" ", 2)[1])


def _answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def stream(base_url: str, path: str, content_type: str = "application/json") -> Answer:
    """POST ``TOTAL`` bytes chunked, ``CHUNK`` at a time, looking for the server's answer after each chunk."""
    with _connect(base_url) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
        sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        sent = 0
        try:
            while sent < TOTAL and not _answered(sock):
                sock.sendall(f"{CHUNK:x}\r\n".encode() + b"{" * CHUNK + b"\r\n")
                sent += CHUNK
                time.sleep(0.002)
            if sent >= TOTAL:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the server answered and closed: what we want
            pass
        select.select([sock], [], [], 10)
        return Answer(_status(sock), sent)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/webhooks/line", "application/json"),
        ("/chat/api/messages", "application/json"),
        ("/coordinator/login", "application/x-www-form-urlencoded"),
    ],
)
def test_an_oversized_chunked_body_is_refused_while_it_streams(server: str, path: str, content_type: str) -> None:
    answer = stream(server, path, content_type)
    assert answer.status == 413
    # answered soon after the limit, long before the 8 MB were sent (allowing for socket buffers)
    assert answer.sent < limit_for(path) + 2 * 1024 * 1024


def test_a_declared_length_over_the_limit_is_refused_before_any_body(server: str) -> None:
    with _connect(server) as sock:
        head = "POST /webhooks/line HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        sock.sendall((head + "Content-Length: 200000000\r\n\r\n").encode())
        assert select.select([sock], [], [], 5)[0], "no answer without the body"
        assert _status(sock) == 413


def test_a_body_within_the_limit_still_reaches_the_route(server: str) -> None:
    body = b'{"destination": "U0", "events": []}'
    with _connect(server) as sock:
        head = f"POST /webhooks/line HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        assert _status(sock) == 401  # read, and refused for its missing signature: not a 413


def test_the_limits_go_by_route_family() -> None:
    assert limit_for("/webhooks/telegram") == 1_000_000
    assert limit_for("/chat/api/messages") == DEFAULT_LIMIT < limit_for("/coordinator/cases/1/note")
