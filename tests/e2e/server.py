"""A real ``madoguchi serve`` in a subprocess, for end-to-end tests (browser now, webhooks later).

``running_server`` starts the server on a free port of 127.0.0.1 with the database
URL and environment it is given, waits until ``/healthz`` answers, and stops it on
exit. ``Server.cli`` runs any other ``madoguchi`` command (``coordinator add``,
``rota add``, ...) against the same database and environment. The server's output
goes to a log file: ``Server.log()`` reads it, and it is printed when the server
fails to start or when the block exits with an error. For crash tests,
``Server.kill()`` sends SIGKILL and ``Server.restart()`` starts a new process on
the same database, port and log.

Nothing here knows about browsers, so webhook tests can use it as it is::

    with running_server(url, log_dir=tmp, env={"LINE_API_BASE_URL": fake.url}) as server:
        server.add_coordinator("sato", password="a long password")
        httpx.post(server.url("/webhooks/line"), ...)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The console script of the virtualenv running the tests.
MADOGUCHI = Path(sys.executable).with_name("madoguchi")

#: Environment for a test server: plain-http cookies would work too, but the default (Secure)
#: is what production runs, and Chromium accepts Secure cookies on http://127.0.0.1.
BASE_ENV = {
    "MADOGUCHI_PAGE_DEADLINE_MINUTES": "60",  # no re-paging during a test
    "MADOGUCHI_REGION": "nemuro",
    "PYTHONUNBUFFERED": "1",
    # Every browser of a test comes from 127.0.0.1: the web chat's paging budget per address is not under test here.
    "MADOGUCHI_CHAT_NEW_PER_ADDRESS": "10000",
    "MADOGUCHI_CHAT_PAGES_PER_ADDRESS": "10000",
    "MADOGUCHI_CHAT_PAGES_PER_HOUR": "10000",
}


#: Talks to 127.0.0.1 directly, whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """The server did not start, or a CLI command failed; the message carries the output."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``madoguchi serve``: its address, database and environment."""

    port: int
    database_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    #: Where the server and the CLI run: not the checkout, so a developer's ``.env`` there is not read.
    cwd: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log(self, last: int | None = None) -> str:
        """The server's output so far (the ``last`` lines only, when given)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if last is None:
            return text
        return "\n".join(text.splitlines()[-last:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- the CLI, against the same database ---------------------------------------------------

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``madoguchi ARGS...`` with the server's environment (so on its database)."""
        done = subprocess.run(
            [str(MADOGUCHI), *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check and done.returncode != 0:
            raise ServerError(f"madoguchi {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def cli_parallel(self, commands: Sequence[Sequence[str]], timeout: float = 60) -> None:
        """Run several ``madoguchi`` commands at once (each takes ~0.7 s, mostly start-up); all must succeed."""
        running = [
            (
                command,
                subprocess.Popen(
                    [str(MADOGUCHI), *command],
                    env=self.env,
                    cwd=self.cwd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                ),
            )
            for command in commands
        ]
        failures = []
        for command, process in running:
            out, err = process.communicate(timeout=timeout)
            if process.returncode != 0:
                failures.append(f"madoguchi {' '.join(command)} failed ({process.returncode}):\n{out}\n{err}")
        if failures:
            raise ServerError("\n".join(failures))

    def add_coordinator(
        self,
        login: str,
        *,
        password: str,
        name: str | None = None,
        regions: Sequence[str] = ("nemuro",),
        on_call_rank: int | None = None,
    ) -> None:
        """A coordinator account; on call around the clock at ``on_call_rank`` (0 is paged first) if given."""
        self.cli(*coordinator_add(login, password=password, name=name, regions=regions))
        if on_call_rank is not None:
            self.cli_parallel([rota_add(login, region=region, rank=on_call_rank) for region in regions])

    # --- HTTP -------------------------------------------------------------------------------

    def get_json(self, path: str, timeout: float = 2.0) -> object:
        """GET a JSON answer from the server (never through a proxy from the environment)."""
        with _DIRECT.open(self.url(path), timeout=timeout) as response:
            return json.loads(response.read())

    def healthy(self) -> bool:
        try:
            answer = self.get_json("/healthz")
        except (OSError, ValueError):  # refused, reset, timed out, 503, not JSON yet
            return False
        return isinstance(answer, dict) and answer.get("status") == "ok"

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, *, extra_args: Sequence[str] = (), startup_timeout: float = 60.0) -> None:
        args = [str(MADOGUCHI), "serve", "--host", self.host, "--port", str(self.port), *extra_args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(f"madoguchi serve exited with {self.process.returncode}:\n{self.log()}")
            if self.healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"madoguchi serve was not healthy after {startup_timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL); its exit code, or None if it never started."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return self.process.returncode

    def kill(self, timeout: float = 10.0) -> int | None:
        """SIGKILL the server, as a crash or the OOM killer would (no shutdown runs); its exit code, or None."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(timeout=timeout)

    def restart(self, *, extra_args: Sequence[str] = (), startup_timeout: float = 60.0) -> None:
        """Start a new process on the same database, environment and log (after ``stop`` or ``kill``).

        It takes the same port if it can, so webhooks and links keep working; if that port
        was taken meanwhile, it takes another free one (``base_url`` follows).
        """
        if self.running:
            raise ServerError("the server is still running: stop or kill it before restarting")
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"--- restarted (the last process exited {self.process and self.process.returncode}) ---\n")
        try:
            self.start(extra_args=extra_args, startup_timeout=startup_timeout)
        except ServerError:
            if "address already in use" not in self.log(last=20).lower():
                raise
            self.port = free_port()
            self.start(extra_args=extra_args, startup_timeout=startup_timeout)


def coordinator_add(
    login: str, *, password: str, name: str | None = None, regions: Sequence[str] = ("nemuro",)
) -> list[str]:
    """The arguments of ``madoguchi coordinator add`` (for ``Server.cli`` or ``Server.cli_parallel``)."""
    region_args = [arg for region in regions for arg in ("--region", region)]
    return ["coordinator", "add", login, *region_args, "--name", name or login, "--password", password]


def rota_add(login: str, *, region: str = "nemuro", rank: int = 0) -> list[str]:
    """The arguments of ``madoguchi rota add``: on call around the clock at ``rank`` (0 is paged first)."""
    return ["rota", "add", login, "--region", region, "--rank", str(rank)]


#: The checkout these tests belong to: first on the server's path, so the console script runs this tree's
#: code even when the virtualenv's editable install points at another worktree.
CHECKOUT = str(Path(__file__).resolve().parents[2])


def server_env(database_url: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test server: ours, the defaults above, then the caller's."""
    path = os.pathsep.join(p for p in (CHECKOUT, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **BASE_ENV, "PYTHONPATH": path, "MADOGUCHI_DATABASE_URL": database_url, **(env or {})}


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 60.0,
    attempts: int = 3,
) -> Iterator[Server]:
    """A started server; stopped on exit, its log printed if the block raised or the server crashed.

    A port taken between ``free_port`` and the server's bind is retried with another port.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    server: Server | None = None
    for attempt in range(attempts):
        server = Server(
            port=free_port(),
            database_url=database_url,
            env=server_env(database_url, env),
            log_path=log_dir / f"madoguchi-serve-{attempt}.log",
            cwd=log_dir,
        )
        try:
            server.start(extra_args=extra_args, startup_timeout=startup_timeout)
            break
        except ServerError:
            if attempt == attempts - 1 or "address already in use" not in server.log().lower():
                raise
    assert server is not None
    failed = False
    try:
        yield server
    except BaseException:
        failed = True
        raise
    finally:
        crashed = not server.running
        code = server.stop()
        if failed or crashed:
            print(f"--- madoguchi serve on port {server.port} (exit {code}) log:\n{server.log()}", file=sys.stderr)
