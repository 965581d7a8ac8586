"""The ``madoguchi`` command line (Typer).

Commands import what they need inside their own body, so ``madoguchi classify``
does not pay for the packages that only ``serve`` or ``train`` use: cold start
is one of the speed goals.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import subprocess

    from sqlalchemy import Engine

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Madoguchi: the intake desk for community hubs.")
kb_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The knowledge base.")
app.add_typer(kb_app, name="kb")
coordinator_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Coordinator accounts.")
app.add_typer(coordinator_app, name="coordinator")
telegram_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The Telegram bot.")
app.add_typer(telegram_app, name="telegram")
outbox_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Messages waiting to go out.")
app.add_typer(outbox_app, name="outbox")
rota_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The on-call rota (Asia/Tokyo times).")
app.add_typer(rota_app, name="rota")
migration_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Schema migrations (for developers).")
app.add_typer(migration_app, name="migration")


@app.command()
def classify(
    region: Annotated[str | None, typer.Option(help="knowledge-base region for the reply")] = None,
) -> None:
    """Read messages on stdin (plain text or JSON with "text"), write one JSON object per line."""
    from bot.cli.classify_io import run_classify

    raise typer.Exit(run_classify(sys.stdin, sys.stdout, region))


@app.command(name="eval")
def evaluate(
    files: Annotated[
        list[Path] | None, typer.Argument(exists=True, dir_okay=False, help="labelled JSONL files, each scored apart")
    ] = None,
    everyday: Annotated[
        bool, typer.Option(help="also score the everyday corpus's held-out part (none of it urgent)")
    ] = False,
    misses: Annotated[bool, typer.Option(help="list the messages it got wrong")] = True,
    check: Annotated[bool, typer.Option(help="exit 1 when the targets are not met")] = False,
) -> None:
    """Score the classifier: per-intent P/R/F1, macro-F1, urgent recall (now or check), false pages and checks."""
    from intents.classifier import Classifier
    from intents.corpus import load_everyday
    from intents.dataset import load_examples
    from intents.evaluate import format_everyday, format_report, score

    if not files and not everyday:
        raise typer.BadParameter("give a labelled file, --everyday, or both")
    classifier = Classifier.load()
    failed = False
    for file in files or ():
        examples = load_examples(file)
        report = score(examples, [classifier.classify(example.text) for example in examples])
        typer.echo(format_report(report, file.name, show_misses=misses))
        typer.echo("")
        failed = failed or not report.meets_targets()
    if everyday:
        examples = load_everyday("test")
        typer.echo(format_everyday([classifier.classify(example.text) for example in examples], examples, misses))
    if check and failed:
        raise typer.Exit(1)


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help="training JSONL (default intents/data/train.jsonl)")] = None,
    out: Annotated[
        Path | None, typer.Option(help="where to write the model (default intents/model/model.json)")
    ] = None,
    everyday: Annotated[int, typer.Option(help="everyday-corpus lines to add as negatives")] = 6000,
) -> None:
    """Compile the lexicon and retrain the linear model (needs the 'train' extra: scikit-learn).

    Besides the labelled file it reads the everyday corpus (``MADOGUCHI_CORPUS``, default
    ``../shared/corpora/everyday_ja``): a sample as negatives, and its calibration part with
    ``intents/data/calibration.jsonl`` to choose the urgency thresholds.
    """
    from intents.compiled import COMPILED_FILE, write_compiled_lexicon
    from intents.corpus import corpus_digest, load_everyday
    from intents.dataset import CALIBRATION_FILE, TRAIN_FILE, load_examples
    from intents.model import MODEL_FILE, file_digest
    from intents.train import train as run_training

    write_compiled_lexicon()
    typer.echo(f"wrote {COMPILED_FILE}")
    calibration = [*load_examples(CALIBRATION_FILE), *load_everyday("calibration")]
    meta = {"calibration_sha256": file_digest(CALIBRATION_FILE), "everyday_sha256": corpus_digest()}
    model = run_training(
        data or TRAIN_FILE,
        log=typer.echo,
        everyday=load_everyday("train", limit=everyday) if everyday else (),
        calibration=calibration,
        meta=meta,
    )
    model.save(out or MODEL_FILE)
    typer.echo(f"wrote {out or MODEL_FILE} ({len(model.weights)} features)")


@app.command()
def chat(
    region: Annotated[str | None, typer.Option(help="knowledge-base region (default MADOGUCHI_REGION)")] = None,
) -> None:
    """Talk to the bot in the terminal, as a person would, over the same engine and storage."""
    from bot.cli.terminal import run_chat
    from bot.conversation import load_context
    from bot.desk import Desk
    from bot.settings import Settings
    from storage.db import make_engine, upgrade

    settings = Settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    desk = Desk.build(load_context(), settings)
    desk.region = region or desk.region
    run_chat(desk, engine, input)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option(help="a demo coordinator on call around the clock; prints its login")] = False,
    access_log: Annotated[bool, typer.Option(help="log every request line (paths only, never bodies)")] = False,
) -> None:
    """Run the web app (webhooks, web chat, coordinator pages) and the work behind it (MADOGUCHI_WORK).

    The work (receive, dispatch, re-page, purge) runs by default in a second process that this one starts and
    stops (MADOGUCHI_WORK_PROCESSES of them), so acknowledging a webhook never shares an interpreter with it,
    nor on SQLite a write lock (MADOGUCHI_WORK: auto, apart, inline, or elsewhere to run only the web app).
    """
    import gc
    import logging
    import shutil
    import tempfile

    import uvicorn

    from bot.settings import Settings
    from bot.web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    application = create_app(settings, workers=settings.work_where == "inline")
    if demo:
        from bot.cli.demo import make_demo

        login, password = make_demo(application.state.services.engine, settings.region)
        typer.echo(f"demo coordinator: http://{host}:{port}/coordinator/  login {login!r}  password {password!r}")
        typer.echo(f"web chat:         http://{host}:{port}/chat/")
    apart = settings.work_where == "apart"
    shared = Path(tempfile.mkdtemp(prefix="madoguchi-work-metrics-"))  # the work's counters, for /metrics
    application.state.services.desk.metrics.include(shared)
    workers = _start_work(shared, settings.work_processes) if apart else []
    gc.freeze()  # the start-up objects (model, dictionary, lexicon) never need collecting: shorter GC pauses
    try:
        uvicorn.run(application, host=host, port=port, access_log=access_log, log_level="info")
    finally:
        for worker in workers:
            _stop_work(worker)
        shutil.rmtree(shared, ignore_errors=True)


@app.command()
def work(
    ready_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
    metrics_dir: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the work behind the webhooks without the web app: receive, dispatch, re-page, purge (until SIGTERM).

    Any number may run against one PostgreSQL; ``madoguchi serve`` starts one itself unless MADOGUCHI_WORK says not.
    """
    import asyncio
    import logging

    from bot.runtime.work import work_apart
    from bot.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(work_apart(Settings(), ready_fd, metrics_dir))


#: How long ``serve`` waits for its work process to load the model and the knowledge base.
WORK_START_TIMEOUT = 120.0


def _die_with_parent() -> None:
    """In the work process, before it starts: SIGKILL it when ``serve`` dies, however it dies (Linux)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _start_work(metrics_dir: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` ``madoguchi work`` children sharing this process's output, once each says it is ready.

    They load side by side; if one does not start, all are stopped and ``serve`` exits.
    """
    import subprocess

    started: list[tuple[subprocess.Popen[bytes], int]] = []
    for _ in range(count):
        read_end, write_end = os.pipe()
        command = [sys.executable, "-c", "from bot.cli import main; main()", "work", "--ready-fd", str(write_end)]
        command += ["--metrics-dir", str(metrics_dir)]
        child = subprocess.Popen(command, pass_fds=(write_end,), preexec_fn=_die_with_parent)
        os.close(write_end)
        started.append((child, read_end))
    children = [child for child, _ in started]
    try:
        if not all(_says_ready(read_end) for _, read_end in started):
            for child in children:
                _stop_work(child)
            codes = ", ".join(str(child.returncode) for child in children)
            typer.echo(f"error: the work process did not start (exit {codes})", err=True)
            raise typer.Exit(1)
    finally:
        for _, read_end in started:
            os.close(read_end)
    return children


def _says_ready(read_end: int) -> bool:
    import select

    ready, _, _ = select.select([read_end], [], [], WORK_START_TIMEOUT)
    return bool(ready) and os.read(read_end, 64).startswith(b"ready")


def _stop_work(child: subprocess.Popen[bytes]) -> None:
    import subprocess

    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=8)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _engine() -> Engine:
    from bot.settings import Settings
    from storage.db import make_engine, upgrade

    engine = make_engine(Settings().database_url)
    upgrade(engine)
    return engine


@coordinator_app.command("add")
def coordinator_add(
    login: Annotated[str, typer.Argument(help="login name")],
    region: Annotated[list[str], typer.Option(help="a region they serve (repeat for several)")],
    name: Annotated[str, typer.Option(help="name shown to colleagues")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="at least 10 characters")
    ] = "",
) -> None:
    """Create a coordinator account (the password is stored as an argon2 hash)."""
    from bot.web.auth import AccountError, add_coordinator
    from storage.db import session_scope
    from storage.types import utcnow

    engine = _engine()
    try:
        with session_scope(engine) as session:
            person = add_coordinator(session, login=login, name=name, password=password, regions=region, at=utcnow())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"coordinator {person.login} (id {person.id}) serves {', '.join(person.regions)}")


@coordinator_app.command("page")
def coordinator_page(
    login: Annotated[str, typer.Argument(help="the coordinator's login")],
    channel: Annotated[str, typer.Option(help="web, line or telegram")],
    address: Annotated[str, typer.Option(help="LINE user id or Telegram chat id (not needed for web)")] = "",
) -> None:
    """Where this coordinator's pages go: the web queue page (default), or their phone on LINE or Telegram."""
    from bot.channels import registry
    from storage import people
    from storage.db import session_scope

    platform = registry.row(channel).build is not None  # a channel with its own app on the phone
    if not (channel == "web" or platform) or (channel != "web" and not address):
        typer.echo("error: --channel web, or line/telegram with --address", err=True)
        raise typer.Exit(1)
    with session_scope(_engine()) as session:
        person = people.coordinator_by_login(session=session, login=login)
        if person is None:
            typer.echo(f"error: no coordinator {login!r}", err=True)
            raise typer.Exit(1)
        person.page_channel, person.page_address = channel, address or None
        session.add(person)
    typer.echo(f"{login} is paged on {channel}" + (f" at {address}" if address else ""))


@coordinator_app.command("list")
def coordinator_list() -> None:
    """List coordinator accounts."""
    from sqlmodel import Session

    from storage import people

    engine = _engine()
    with Session(engine) as session:
        for person in people.coordinators(session=session):
            state = "" if person.active else " (inactive)"
            typer.echo(f"{person.id}\t{person.login}\t{person.name}\t{','.join(person.regions)}{state}")


@telegram_app.command("set-webhook")
def telegram_set_webhook(url: Annotated[str, typer.Argument(help="https://your.host/webhooks/telegram")]) -> None:
    """Register the webhook with Telegram, with TELEGRAM_WEBHOOK_SECRET as its secret token."""
    import asyncio

    from bot.channels.errors import DeliveryError
    from bot.channels.telegram import TelegramChannel
    from bot.settings import Settings

    settings = Settings()
    if not settings.telegram_bot_token or not settings.telegram_webhook_secret:
        typer.echo("error: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first", err=True)
        raise typer.Exit(1)
    channel = TelegramChannel(
        settings.telegram_bot_token.get_secret_value(),
        settings.telegram_webhook_secret.get_secret_value(),
        settings.telegram_api_base_url,
    )

    async def register() -> bool:
        try:
            return await channel.set_webhook(url)
        finally:
            await channel.close()

    try:
        done = asyncio.run(register())
    except DeliveryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"webhook set: {url}" if done else "Telegram did not accept the webhook")
    if not done:
        raise typer.Exit(1)


@migration_app.command("new")
def migration_new(message: Annotated[str, typer.Argument(help="what the migration changes")]) -> None:
    """Write a migration (storage/migrations/versions) from the models' difference with the database's schema.

    Point MADOGUCHI_DATABASE_URL at a scratch database brought up to date first (``madoguchi serve`` or the
    tests do that); the URL comes from the settings, like every other command's.
    """
    from bot.settings import Settings
    from storage.db import new_revision

    new_revision(Settings().database_url, message)


@outbox_app.command("retry")
def outbox_retry(
    case: Annotated[int | None, typer.Option(help="only this case's sends (default: every failed send)")] = None,
) -> None:
    """Send again what failed for good (after a long outage, or once a person unblocked the bot).

    The rows are due at once; the running service (``madoguchi serve`` or
    ``madoguchi work``) sends them, in order per person, with a fresh schedule.
    """
    from bot.desk import undelivered
    from storage.db import session_scope
    from storage.types import utcnow

    with session_scope(_engine()) as session:
        count = undelivered.retry(session, utcnow(), case_id=case)
    typer.echo(f"{count} failed send(s) queued again")


@rota_app.command("add")
def rota_add(
    login: Annotated[str, typer.Argument(help="the coordinator's login")],
    region: Annotated[str, typer.Option(help="region of the rota")],
    days: Annotated[str, typer.Option(help="weekdays the slot starts on, Monday=0: '01234' is Mon-Fri")] = "0123456",
    start: Annotated[str, typer.Option("--from", help="HH:MM, Asia/Tokyo")] = "00:00",
    end: Annotated[str, typer.Option("--to", help="HH:MM; earlier than --from runs past midnight")] = "24:00",
    rank: Annotated[int, typer.Option(help="0 is called first, then 1, ...")] = 0,
) -> None:
    """Put a coordinator on call: for example --days 01234 --from 17:00 --to 09:00 for weekday nights."""
    from bot.desk.rota import RotaError, add_slot
    from storage.db import session_scope

    engine = _engine()
    try:
        with session_scope(engine) as session:
            slot = add_slot(session, login=login, region=region, days=days, start=start, end=end, rank=rank)
    except RotaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"slot {slot.id}: {login} on call in {region}, days {days}, {start}-{end}, rank {rank}")


@rota_app.command("show")
def rota_show(region: Annotated[str, typer.Option(help="region of the rota")]) -> None:
    """Print the rota of a region and who is on call now."""
    from bot.desk.rota import describe

    engine = _engine()
    for line in describe(engine, region):
        typer.echo(line)


@kb_app.command("check")
def kb_check() -> None:
    """Validate every knowledge-base file against its schema; report file, entry and field."""
    from bot.conversation.texts import Texts, TextsError
    from bot.desk.quick_replies import for_case
    from knowledge.loader import check

    kb, problems = check()
    for problem in problems:
        typer.echo(f"ERROR {problem}", err=True)
    if kb is None:
        typer.echo(f"{len(problems)} problem(s); the knowledge base does not load.", err=True)
        raise typer.Exit(1)
    try:
        texts = Texts.load(kb)
    except TextsError as exc:
        typer.echo(f"ERROR {exc}", err=True)
        raise typer.Exit(1) from exc
    faq_ids = {entry.id for entries in kb.faq.values() for entry in entries}
    bad_topics = [f"{topic} -> {entry}" for topic, entry in texts.spec.topic_answers.items() if entry not in faq_ids]
    for item in bad_topics:
        typer.echo(f"ERROR bot/conversation/texts.yaml: [topic_answers] unknown FAQ id: {item}", err=True)
    verified = sum(1 for line in kb.lines.values() if line.verified)
    typer.echo(f"sources: {len(kb.sources)}   national lines: {len(kb.lines)} ({verified} verified)")
    for region in kb.regions.values():
        answers = kb.answers(region.id)
        typer.echo(
            f"region {region.id} ({region.name}): {len(region.towns)} towns, {len(region.resources)} resources, "
            f"{len(answers)} FAQ answers ({sum(len(a.entry.questions) for a in answers)} question variants), "
            f"{len(region.quick_replies)} quick replies"
        )
        for entry_id, reason in kb.unavailable(region.id):
            typer.echo(f"  warning: FAQ {entry_id} not offered here: {reason}")
        for key, line in texts.dropped_lines(region.id):
            typer.echo(f"  warning: reply {key!r} leaves out a line here: {line.strip()}")
        offered = {reply.label for reply in for_case(kb, region.id, None)}
        for reply in region.quick_replies:
            if reply.label not in offered:
                typer.echo(f"  warning: quick reply {reply.label!r} not offered here (a fact is unknown): {reply.text}")
    if bad_topics:
        raise typer.Exit(1)
    typer.echo("knowledge base OK")


@kb_app.command("eval")
def kb_eval(
    file: Annotated[
        Path | None, typer.Argument(help="a queries JSONL (default: the tuning set and the held-out set)")
    ] = None,
    region: Annotated[str, typer.Option(help="region whose FAQ is searched")] = "nemuro",
    engine: Annotated[
        bool, typer.Option(help="also ask the whole bot (classifier, then FAQ) as a new person would")
    ] = False,
) -> None:
    """Score FAQ retrieval: right, wrong and silent answers, and abstention on unanswerable questions."""
    from intents.tokens import Tokenizer
    from knowledge.evaluate import HELDOUT_FILE, QUERIES_FILE, format_scores, load_queries, score
    from knowledge.loader import load_knowledge
    from knowledge.retrieval import THRESHOLD, FaqIndex

    if engine:
        from bot.cli.faq_eval import format_engine_scores, score_engine
        from bot.conversation import load_context

        ctx = load_context()
        for path in [file] if file else [QUERIES_FILE, HELDOUT_FILE]:
            typer.echo(format_engine_scores(path.name, score_engine(ctx, region, load_queries(path))))
        return
    kb = load_knowledge()
    index = FaqIndex(kb.answers(region), Tokenizer(), synonyms=kb.synonyms, other_places=kb.other_places)
    sweep = sorted({round(0.15 + 0.05 * i, 2) for i in range(8)} | {THRESHOLD})
    for path in [file] if file else [QUERIES_FILE, HELDOUT_FILE]:
        typer.echo(f"{path.name}:")
        typer.echo(format_scores(score(index, load_queries(path), sweep), THRESHOLD))


@app.command()
def bench(
    part: Annotated[str, typer.Option(help="classify, web, webhooks, limits or all")] = "all",
    quick: Annotated[
        bool, typer.Option(help="web and webhooks parts: a 2 s run and no probe (a smoke test, not the figures)")
    ] = False,
    database: Annotated[
        list[str] | None,
        typer.Option(help="web and webhooks parts: sqlite or postgresql (repeat for both; default both)"),
    ] = None,
) -> None:
    """Speed and memory: classify vs tokenising alone, cold start, peak memory; web chat and webhooks under load."""
    _tools_on_path("bench")
    from tools.bench.run import run_bench

    if part not in ("classify", "web", "webhooks", "limits", "all"):
        raise typer.BadParameter("classify, web, webhooks, limits or all", param_hint="--part")
    if unknown := set(database or ()) - {"sqlite", "postgresql"}:
        raise typer.BadParameter(f"unknown {', '.join(sorted(unknown))}: sqlite or postgresql", param_hint="--database")
    run_bench(typer.echo, part, quick=quick, databases=database)


def _tools_on_path(command: str) -> None:
    """The benchmarks and the drill live beside the package, in the checkout (``tools/`` is not shipped):
    an installed console script finds them there, or says it cannot."""
    try:
        import tools  # noqa: F401
    except ImportError:
        checkout = Path(__file__).resolve().parents[2]
        if not (checkout / "tools").is_dir():
            typer.echo(f"madoguchi {command} runs from a source checkout (tools/ is not shipped)", err=True)
            raise typer.Exit(2) from None
        sys.path.insert(0, str(checkout))


@app.command()
def drill(
    cases: Annotated[int, typer.Option(min=1, help="urgent messages in the night")] = 30,
    night: Annotated[float, typer.Option(min=1.0, help="seconds over which they arrive")] = 20.0,
    deadline: Annotated[float, typer.Option(min=0.5, help="the paging deadline, in seconds")] = 2.0,
    seed: Annotated[int, typer.Option(help="who writes when, and how long coordinators take")] = 7,
) -> None:
    """A simulated night against the real service with fake LINE and Telegram: time to page and to claim, re-pages."""
    _tools_on_path("drill")
    from tools.drill import Plan, run_drill

    result = run_drill(typer.echo, Plan(cases=cases, night=night, deadline=deadline, seed=seed))
    if result.paged < result.people or result.claimed < result.people or result.unreached:
        raise typer.Exit(1)


def main() -> None:
    app()
