"""The ``madoguchi`` command line (Typer).

Commands import what they need inside their own body, so ``madoguchi classify``
does not pay for the packages that only ``serve`` or ``train`` use: cold start
is one of the speed goals.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Madoguchi: the intake desk for community hubs.")
kb_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The knowledge base.")
app.add_typer(kb_app, name="kb")


@app.command()
def classify(
    region: Annotated[str | None, typer.Option(help="knowledge-base region for the reply")] = None,
) -> None:
    """Read messages on stdin (plain text or JSON with "text"), write one JSON object per line."""
    from bot.classify_io import run_classify

    raise typer.Exit(run_classify(sys.stdin, sys.stdout, region))


@app.command(name="eval")
def evaluate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="labelled JSONL file")],
    misses: Annotated[bool, typer.Option(help="list the messages it got wrong")] = True,
    check: Annotated[bool, typer.Option(help="exit 1 when the targets are not met")] = False,
) -> None:
    """Score the classifier on a labelled file: per-intent P/R/F1, macro-F1, urgent recall, false urgent."""
    from intents.classifier import Classifier
    from intents.dataset import load_examples
    from intents.evaluate import format_report, score

    examples = load_examples(file)
    classifier = Classifier.load()
    report = score(examples, [classifier.classify(example.text) for example in examples])
    typer.echo(format_report(report, file.name, show_misses=misses))
    if check and not report.meets_targets():
        raise typer.Exit(1)


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help="training JSONL (default intents/data/train.jsonl)")] = None,
    out: Annotated[
        Path | None, typer.Option(help="where to write the model (default intents/model/model.json)")
    ] = None,
) -> None:
    """Compile the lexicon and retrain the linear model (needs the 'train' extra: scikit-learn)."""
    from intents.compiled import COMPILED_FILE, write_compiled_lexicon
    from intents.dataset import TRAIN_FILE
    from intents.model import MODEL_FILE
    from intents.train import train as run_training

    write_compiled_lexicon()
    typer.echo(f"wrote {COMPILED_FILE}")
    model = run_training(data or TRAIN_FILE, log=typer.echo)
    model.save(out or MODEL_FILE)
    typer.echo(f"wrote {out or MODEL_FILE} ({len(model.weights)} features)")


@app.command()
def chat(
    region: Annotated[str | None, typer.Option(help="knowledge-base region (default MADOGUCHI_REGION)")] = None,
) -> None:
    """Talk to the bot in the terminal, as a person would."""
    from bot.chat import run_chat
    from bot.conversation import load_context
    from bot.settings import Settings

    ctx = load_context()
    run_chat(ctx, region or Settings().region, input)


@kb_app.command("check")
def kb_check() -> None:
    """Validate every knowledge-base file against its schema; report file, entry and field."""
    from bot.conversation.texts import Texts, TextsError
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
            f"{len(answers)} FAQ answers ({sum(len(a.entry.questions) for a in answers)} question variants)"
        )
        for entry_id, reason in kb.unavailable(region.id):
            typer.echo(f"  warning: FAQ {entry_id} not offered here: {reason}")
        for key, line in texts.dropped_lines(region.id):
            typer.echo(f"  warning: reply {key!r} leaves out a line here: {line.strip()}")
    if bad_topics:
        raise typer.Exit(1)
    typer.echo("knowledge base OK")


@kb_app.command("eval")
def kb_eval(
    file: Annotated[
        Path | None, typer.Argument(help="a queries JSONL (default: the tuning set and the held-out set)")
    ] = None,
    region: Annotated[str, typer.Option(help="region whose FAQ is searched")] = "nemuro",
) -> None:
    """Score FAQ retrieval: right, wrong and silent answers, and abstention on unanswerable questions."""
    from intents.tokens import Tokenizer
    from knowledge.evaluate import HELDOUT_FILE, QUERIES_FILE, format_scores, load_queries, score
    from knowledge.loader import load_knowledge
    from knowledge.retrieval import THRESHOLD, FaqIndex

    kb = load_knowledge()
    index = FaqIndex(kb.answers(region), Tokenizer())
    sweep = sorted({round(0.15 + 0.05 * i, 2) for i in range(8)} | {THRESHOLD})
    for path in [file] if file else [QUERIES_FILE, HELDOUT_FILE]:
        typer.echo(f"{path.name}:")
        typer.echo(format_scores(score(index, load_queries(path), sweep), THRESHOLD))


@app.command()
def bench() -> None:
    """Speed and memory: classify vs tokenising alone, cold start, peak memory."""
    from bot.bench import run_bench

    run_bench(typer.echo)


def main() -> None:
    app()
