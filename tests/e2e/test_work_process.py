"""Where ``madoguchi serve`` runs the work behind the 200 (``MADOGUCHI_WORK``), as real processes.

The default (``auto``) is apart on both databases (on SQLite the webhooks store
into the inbound journal, a file of its own), so every e2e test runs it that way.
Here: apart, the work process exists and dies with ``serve`` even on SIGKILL;
``MADOGUCHI_WORK_PROCESSES`` starts that many; inline and elsewhere start none.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.server import Server, running_server

pytestmark = pytest.mark.slow


def _children(server: Server) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in listed.split()]


def _nice(pid: int) -> int:
    """The process's nice value (field 19 of /proc/PID/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_runs_the_work_in_a_process_of_its_own_that_dies_with_it(tmp_path: Path) -> None:
    with running_server(
        f"sqlite:///{tmp_path / 'apart.db'}", log_dir=tmp_path, env={"MADOGUCHI_WORK": "auto"}
    ) as server:
        (worker,) = _children(server)
        assert _alive(worker)
        assert "work ready" in server.log()
        assert server.process is not None
        # the work yields the CPU to the process that answers people (MADOGUCHI_WORK_NICE, 10 by default)
        assert _nice(worker) == _nice(server.process.pid) + 10 or _nice(worker) == 19
        server.kill()  # SIGKILL: no shutdown code runs in serve
        deadline = time.monotonic() + 5
        while _alive(worker):
            assert time.monotonic() < deadline, "the work process outlived a killed serve"
            time.sleep(0.05)


def test_serve_starts_as_many_work_processes_as_it_is_told(tmp_path: Path) -> None:
    env = {"MADOGUCHI_WORK": "apart", "MADOGUCHI_WORK_PROCESSES": "2"}
    env |= {"MADOGUCHI_WORK_NICE": "0"}
    with running_server(f"sqlite:///{tmp_path / 'two.db'}", log_dir=tmp_path, env=env) as server:
        workers = _children(server)
        assert len(workers) == 2 and all(_alive(worker) for worker in workers)
        assert server.process is not None
        assert {_nice(worker) for worker in workers} == {_nice(server.process.pid)}  # 0: not lowered
        assert server.log().count("work ready") == 2


@pytest.mark.parametrize("where", ["inline", "elsewhere"])
def test_inline_and_elsewhere_start_no_second_process(tmp_path: Path, where: str) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    with running_server(url, log_dir=tmp_path, env={"MADOGUCHI_WORK": where}) as server:
        assert _children(server) == []
        assert "work ready" not in server.log()
