"""The words about pages and linking are data (``bot/desk/notify.yaml``), checked for shape when read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.desk import linking
from bot.desk.notify import NOTIFY_FILE, NotifyWords, words


def test_the_file_loads_and_names_every_channel_a_page_can_take() -> None:
    said = words()
    assert set(linking.ORDER) | {"web"} <= set(said.channels)
    assert "{code}" in said.code_shown and "{channel}" in said.linked and "{since}" in said.line_limit


def _broken(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(NOTIFY_FILE.read_text(encoding="utf-8")) | change
    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change",
    [
        {"linked": "登録しました。"},  # no {channel}: the coordinator would not know which account
        {"code_shown": "{code} を 送ってください。"},  # no {minutes}
        {"channels": {"line": "LINE", "telegram": "Telegram"}},  # no name for Web Push
        {"unknown_key": "x"},  # a misspelt key is an error, not ignored
    ],
)
def test_a_broken_file_fails_when_read(tmp_path: Path, change: dict[str, object]) -> None:
    words.cache_clear()
    try:
        with pytest.raises(ValidationError):
            words(_broken(tmp_path, change))
    finally:
        words.cache_clear()


def test_a_missing_text_fails_when_read(tmp_path: Path) -> None:
    data = yaml.safe_load(NOTIFY_FILE.read_text(encoding="utf-8"))
    del data["code_unusable"]
    with pytest.raises(ValidationError):
        NotifyWords.model_validate(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234 5678", "12345678"), ("１２３４－５６７８", "12345678"), (" 12345678\n", "12345678")],
)
def test_a_code_is_read_as_people_type_it(text: str, expected: str) -> None:
    assert linking.read_code(text) == expected


@pytest.mark.parametrize("text", ["1234567", "123456789", "コード 12345678", "090-1234-5678", ""])
def test_anything_else_is_not_a_code(text: str) -> None:
    assert linking.read_code(text) is None
