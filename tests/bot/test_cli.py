"""The command line, run as a person or a script would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.terminal import run_chat
from bot.desk import Desk
from storage.models import Case

SCRIPT = Path(sys.executable).with_name("madoguchi")


def madoguchi(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=os.environ, timeout=120
    )


def test_classify_follows_the_contract() -> None:
    done = madoguchi("classify", stdin='母が倒れました\n{"id": 7, "text": "電話番号は？"}\n\n')
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert set(first) >= {"intents", "scores", "urgency", "urgent", "reply"}
    assert first["intents"][0] == "caregiver_emergency" and first["urgent"] is True and first["urgency"] == "now"
    assert second["urgency"] == "none" and second["urgent"] is False
    assert "119" in first["reply"]
    assert second["id"] == 7 and second["intents"] == ["faq"] and "0153-73-3178" in second["reply"]
    assert all(0 <= v <= 1 for v in first["scores"].values())


def test_classify_reports_bad_lines_in_place_and_fails() -> None:
    done = madoguchi("classify", stdin='{broken\n{"text": 3}\n{"text": " "}\nこんにちは\n')
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    assert [("error" in line) for line in lines] == [True, True, True, False]
    assert "not valid JSON" in lines[0]["error"]


def test_classify_asks_the_check_question_and_never_crashes_on_deletion_words() -> None:
    stdin = "前は死にたいと思ってた時期もありました\n書いた記録って、あとからデータ削除とかもできるんでしょうか？\n"
    done = madoguchi("classify", stdin=stdin)
    assert done.returncode == 0, done.stderr
    check, deletion = (json.loads(line) for line in done.stdout.splitlines())
    assert check["urgency"] == "check" and check["urgent"] is False and check["check_because"]
    assert "死にたい 気持ちが ありますか" in check["reply"]
    assert deletion["urgency"] == "none" and "データを消して" in deletion["reply"]


def test_classify_refuses_an_unknown_region() -> None:
    done = madoguchi("classify", "--region", "tokyo", stdin="こんにちは\n")
    assert done.returncode != 0 and "no region 'tokyo'" in done.stderr


def test_kb_eval_through_the_whole_bot_counts_right_wrong_and_declined(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"text": "センターの電話番号を教えてください", "expect": "phone-number"}\n'
        '{"text": "センターの電話番号を教えてください", "expect": "cost"}\n'
        '{"text": "明日の札幌の天気は？", "expect": null}\n',
        "utf-8",
    )
    done = madoguchi("kb", "eval", str(queries), "--engine")
    assert done.returncode == 0, done.stderr
    assert "2 answerable, 1 unanswerable" in done.stdout
    assert "answered right 0.500 (1), wrong 0.500 (1), silent 0.000 (0); unanswerable declined 1.000 (1)" in done.stdout


def test_kb_check_passes_on_the_shipped_data() -> None:
    done = madoguchi("kb", "check")
    assert done.returncode == 0, done.stderr
    assert "knowledge base OK" in done.stdout
    assert "region nemuro (根室圏域)" in done.stdout
    assert "warning: FAQ phone-number not offered here: shiroi has no {hub.phone}" in done.stdout
    assert "8 quick replies" in done.stdout
    assert done.stdout.count("warning: quick reply 'センターの 番号' not offered here") == 2  # 東胆振, 白井市


def test_eval_prints_the_figures(tmp_path: Path) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text(
        '{"text": "しにたい", "intents": ["crisis"], "urgent": true}\n'
        '{"text": "こんにちは", "intents": ["other"], "urgent": false}\n',
        "utf-8",
    )
    result = CliRunner().invoke(app, ["eval", str(data), "--check"])
    assert result.exit_code == 0, result.output
    assert "urgent recall       1.000   (1/1" in result.output
    assert "false pages         0.000   (0/1" in result.output


def test_eval_check_fails_when_targets_are_missed(tmp_path: Path) -> None:
    data = tmp_path / "wrong.jsonl"
    data.write_text('{"text": "こんにちは", "intents": ["crisis"], "urgent": true}\n', "utf-8")
    assert CliRunner().invoke(app, ["eval", str(data), "--check"]).exit_code == 1


def test_eval_names_a_bad_file(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "x", "intents": ["crisis"], "urgent": false}\n', "utf-8")
    result = CliRunner().invoke(app, ["eval", str(data)])
    assert result.exit_code != 0 and "bad.jsonl:1" in str(result.exception)


def test_chat_talks_stores_the_case_and_pages(desk: Desk, engine: Engine) -> None:
    said: list[str] = []
    inputs = iter(["母が倒れて救急車で運ばれた。弟がひとり", "3"])

    def read(_: str) -> str:
        try:
            return next(inputs)
        except StopIteration:
            raise EOFError from None

    run_chat(desk, engine, read, said.append)
    text = "\n".join(said)
    assert "119" in text and "[coordinator PAGED NOW: case #1]" in text
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
    assert case.urgent and case.town == "中標津町" and case.channel == "terminal"
    assert "[1] 根室市" in text  # buttons are numbered; "3" pressed 中標津町
    assert "記録しても いいですか？" in text  # 「弟がひとり」 said who is with him: the next question is consent


@pytest.mark.parametrize("command", [["--help"], ["kb", "--help"]])
def test_help_lists_the_commands(command: list[str]) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0
    for name in ("classify", "eval", "chat", "train", "bench") if command == ["--help"] else ("check", "eval"):
        assert name in result.output


def test_coordinator_accounts_and_the_rota_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    added = runner.invoke(
        app, ["coordinator", "add", "sato", "--region", "nemuro", "--name", "佐藤", "--password", "x" * 12]
    )
    assert added.exit_code == 0 and "serves nemuro" in added.output
    again = runner.invoke(app, ["coordinator", "add", "sato", "--region", "nemuro", "--password", "y" * 12])
    assert again.exit_code == 1 and "taken" in again.output
    short = runner.invoke(app, ["coordinator", "add", "ito", "--region", "nemuro", "--password", "short"])
    assert short.exit_code == 1 and "too short" in short.output
    slot = runner.invoke(app, ["rota", "add", "sato", "--region", "nemuro", "--days", "0123456"])
    assert slot.exit_code == 0
    wrong = runner.invoke(app, ["rota", "add", "sato", "--region", "shiroi"])
    assert wrong.exit_code == 1 and "does not serve" in wrong.output
    shown = runner.invoke(app, ["rota", "show", "--region", "nemuro"])
    assert "on call now: sato" in shown.output and "月火水木金土日" in shown.output
