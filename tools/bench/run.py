"""``madoguchi bench``: speed and memory figures, all measured in one run on the same messages.

* fugashi tokenising alone (the floor): ``tagger(text)`` reading every lemma;
* ``Classifier.classify`` on the same messages: microseconds per message and the
  ratio to the floor (goal: within 10x);
* the engine's first reply to a new person (classify + FAQ retrieval + texts);
* cold start of ``madoguchi classify`` for one message, median of five runs
  (goal: under 1.5 s), and its peak resident memory (goal: under 200 MB);
* then the web chat under a steady load on SQLite and PostgreSQL (``tools.bench.web``);
* then the LINE and Telegram webhooks under a steady load, beside a bare endpoint's floor
  (``tools.bench.webhooks``);
* then floods: logins beside the webhooks, and urgent web chats (``tools.bench.limits``).
  ``--part classify|web|webhooks|limits|all`` picks the parts (all by default).

Figures are printed, not asserted: timing on a shared machine is not a test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import fugashi

from bot.conversation import Inbound, PersonState, load_context, respond
from intents.corpus import corpus_path, load_everyday
from intents.dataset import DEV_FILE, TRAIN_FILE, load_examples
from intents.mapped import RELEASE_EVERY

Echo = Callable[[str], None]
ROUNDS = 3
COLD_RUNS = 5
VARIED = 10_000  # messages one classify process answers for the memory figure


def _best_of(rounds: int, work: Callable[[], None]) -> float:
    """The fastest of several runs, in seconds: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


# ``madoguchi classify`` as its console script runs it, reporting its own memory when it exits.
# (A parent's RUSAGE_CHILDREN would count the parent's own memory at fork time, so the child reports.)
# VmHWM is the peak RSS. RssFile is mostly UniDic's memory-mapped dictionary (sys.dic 188 MB, matrix.bin
# 72 MB): clean file pages, shared between processes and reclaimable, that grow as more varied words
# touch more of the dictionary until the classifier gives them back (intents/mapped.py). RssAnon is the
# process's own memory.
_PROBE = """
import atexit, sys
def report():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    fields = " ".join(f"{k}={status[k].split()[0]}" for k in ("VmHWM", "RssAnon", "RssFile"))
    sys.stderr.write(f"\\nmemory {fields}\\n")
atexit.register(report)
from bot.cli import main
sys.argv = ["madoguchi", "classify"]
main()
"""


@dataclass(frozen=True)
class Memory:
    """MB of one ``madoguchi classify`` process: its peak RSS, and at exit its own and its mapped memory."""

    peak: float
    private: float  # anonymous memory: the process's own
    mapped: float  # file-backed pages: mostly the dictionary


def _run_classify(lines: Sequence[str] = ("母が倒れました",)) -> tuple[float, Memory]:
    """(seconds, memory) of one ``madoguchi classify`` process answering ``lines``."""
    start = time.perf_counter()
    stdin = "".join(json.dumps({"text": line}, ensure_ascii=False) + "\n" for line in lines)
    done = subprocess.run([sys.executable, "-c", _PROBE], input=stdin, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    answers = done.stdout.splitlines()
    assert len(answers) == len(lines) and all("urgency" in json.loads(a) for a in answers)  # it really answered
    fields = dict(item.split("=") for item in done.stderr.rsplit("memory ", 1)[1].split())
    peak, private, mapped = (int(fields[key]) / 1024 for key in ("VmHWM", "RssAnon", "RssFile"))
    return seconds, Memory(peak, private, mapped)


def _varied_messages(count: int) -> list[str]:
    """``count`` distinct messages: the labelled texts, then everyday talk (held-out part) when it is there."""
    texts = list(dict.fromkeys(e.text for path in (TRAIN_FILE, DEV_FILE) for e in load_examples(path)))
    if len(texts) < count and corpus_path().exists():
        texts += [e.text for e in load_everyday("test", limit=count - len(texts))]
    return texts[:count]


def _cold_start() -> tuple[float, float]:
    """(median seconds, highest peak RSS in MB) of ``madoguchi classify`` answering one message."""
    runs = [_run_classify() for _ in range(COLD_RUNS)]
    return statistics.median(t for t, _ in runs), max(m.peak for _, m in runs)


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def run_bench(echo: Echo, part: str = "all", *, quick: bool = False, databases: Sequence[str] | None = None) -> None:
    """Print the figures of one part (classify, web, webhooks, limits: the floods), or of all."""
    if part in ("classify", "all"):
        run_classify_bench(echo)
    if part in ("web", "all"):
        from tools.bench.web import DATABASES, run_web_bench

        if part == "all":
            echo("")
        run_web_bench(echo, quick=quick, databases=databases or DATABASES)
    if part in ("webhooks", "all"):
        from tools.bench.web import DATABASES
        from tools.bench.webhooks import run_webhook_bench

        if part == "all":
            echo("")
        run_webhook_bench(echo, quick=quick, databases=databases or DATABASES)
    if part in ("limits", "all"):
        from tools.bench.limits import run_limits_bench

        if part == "all":
            echo("")
        run_limits_bench(echo)


def run_classify_bench(echo: Echo) -> None:
    cold = _cold_start()  # first, while this process is small
    texts = [e.text for path in (TRAIN_FILE, DEV_FILE) for e in load_examples(path)]
    echo(f"messages: {len(texts)} (the train and dev texts), best of {ROUNDS} rounds")
    tagger = fugashi.Tagger()
    ctx = load_context()
    classifier = ctx.classifier
    at = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)

    def tokenise() -> None:
        for text in texts:
            [node.feature.lemma for node in tagger(text)]

    def parse_only() -> None:
        for text in texts:
            tagger.parse(text)

    def classify() -> None:
        for text in texts:
            classifier.classify(text)

    def reply() -> None:
        for text in texts:
            respond(PersonState.new("nemuro"), Inbound(text, at), ctx)

    classify()  # warm caches (the FAQ index is built on first use)
    reply()
    per = {
        name: _best_of(ROUNDS, work) / len(texts) * 1e6
        for name, work in (("parse", parse_only), ("tokenise", tokenise), ("classify", classify), ("reply", reply))
    }
    ratio = per["classify"] / per["tokenise"]
    echo("")
    echo(f"{'':34}{'us/msg':>10}{'msgs/s':>10}")
    for name, label in (
        ("parse", "fugashi parse only"),
        ("tokenise", "fugashi tokenising + lemmas (floor)"),
        ("classify", "classify"),
        ("reply", "first reply (classify+FAQ+texts)"),
    ):
        echo(f"{label:34}{per[name]:>10.0f}{1e6 / per[name]:>10.0f}")
    echo("")
    echo(f"classify / floor            {ratio:5.1f}x   (goal <= 10x)   {_verdict(ratio <= 10)}")
    seconds, peak = cold
    echo(f"cold start (median of {COLD_RUNS})    {seconds:5.2f} s   (goal < 1.5 s)  {_verdict(seconds < 1.5)}")
    echo(f"peak RSS of classify        {peak:5.0f} MB  (goal < 200 MB) {_verdict(peak < 200)}")
    varied = _varied_messages(VARIED)
    _, after = _run_classify(varied)
    echo(f"after {len(varied):,} varied messages:")
    echo(f"  peak RSS                  {after.peak:5.0f} MB  (goal <= 250 MB) {_verdict(after.peak <= 250)}")
    echo("    (all of it: the dictionary's mapped pages are counted; the classifier gives them back every")
    echo(f"    {RELEASE_EVERY} messages, intents/mapped.py)")
    echo(f"  private memory at exit    {after.private:5.0f} MB")
    echo(f"  mapped files at exit      {after.mapped:5.0f} MB  (the dictionary pages touched since the last release)")
    echo(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; RSS includes the dictionary's memory-mapped pages")
