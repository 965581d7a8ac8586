"""The browser tests refuse to run on a machine that would draw Japanese as tofu, in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, japanese_fonts, missing_browser_tools


def test_without_chromium_the_message_says_what_to_install(tmp_path: Path) -> None:
    message = missing_browser_tools(tmp_path / "chromium", ["Noto Sans CJK JP"])
    assert message is not None and "apt-get install chromium" in message and "\n" not in message


def test_without_a_japanese_font_the_message_says_what_to_install() -> None:
    message = missing_browser_tools(Path(__file__), [])
    assert message is not None and "fonts-noto-cjk" in message and "fc-list :lang=ja" in message


@pytest.mark.browser
def test_this_machine_has_both() -> None:
    assert missing_browser_tools(CHROMIUM, japanese_fonts()) is None
