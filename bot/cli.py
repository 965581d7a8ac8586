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
    out: Annotated[Path | None, typer.Option(help="where to write the model (default intents/model/model.json)")] = None,
) -> None:
    """Retrain the linear model (needs the 'train' extra: scikit-learn)."""
    from intents.dataset import TRAIN_FILE
    from intents.model import MODEL_FILE
    from intents.train import train as run_training

    model = run_training(data or TRAIN_FILE, log=typer.echo)
    model.save(out or MODEL_FILE)
    typer.echo(f"wrote {out or MODEL_FILE} ({len(model.weights)} features)")


def main() -> None:
    app()
