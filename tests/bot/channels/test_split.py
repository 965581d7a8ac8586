"""``split_text`` (long texts cut for LINE's UTF-16 limit and Telegram's character limit) and LINE's ``retry_key``.

What ``split_text`` promises, as read in bot/channels/split.py: a text that fits is
returned whole; otherwise it is cut between lines where it can, inside a line only
when that one line is too long, never inside a surrogate pair, and the ``\\n``s at
the end of each part are dropped (the break between two messages replaces them).
So the parts, joined with some run of ``\\n`` (possibly empty) at each cut, give the
text back, and that is the property checked below.
"""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlmodel import col

from bot.channels.line import retry_key
from bot.channels.split import split_text
from storage.db import session_scope
from storage.models import Outbox, row_id
from storage.outbox import enqueue
from storage.types import utcnow


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


SPLITS: list[tuple[str, str, int, bool, list[str]]] = [
    # (what it shows, text, limit, utf16, parts)
    ("a text that fits is returned as it is", "abc\n", 10, False, ["abc\n"]),
    ("a text exactly at the limit is one part", "a" * 10, 10, False, ["a" * 10]),
    ("one character over the limit makes a second part", "a" * 11, 10, False, ["a" * 10, "a"]),
    ("lines are kept whole and the newline at the cut goes", "aaaa\nbbbb\ncccc", 10, False, ["aaaa\nbbbb", "cccc"]),
    ("a line too long alone is cut inside", "ab\n" + "x" * 12 + "\ncd", 5, False, ["ab", "xxxxx", "xxxxx", "xx\ncd"]),
    ("blank lines at a cut go with it", "aaaa\n\n\nbbbb", 6, False, ["aaaa", "\nbbbb"]),
    ("LINE: an emoji counts two UTF-16 units", "🍎🍎🍎", 4, True, ["🍎🍎", "🍎"]),
    ("Telegram: an emoji counts one character", "🍎🍎🍎", 4, False, ["🍎🍎🍎"]),
    ("an emoji is never cut in half", "a🍎🍎", 2, True, ["a", "🍎", "🍎"]),
    ("2,500 emoji are exactly LINE's 5,000 units", "🍎" * 2500, 5000, True, ["🍎" * 2500]),
    ("2,501 emoji are two LINE messages", "🍎" * 2501, 5000, True, ["🍎" * 2500, "🍎"]),
    ("4,096 kana are one Telegram message", "あ" * 4096, 4096, False, ["あ" * 4096]),
    ("4,097 kana are two Telegram messages", "あ" * 4097, 4096, False, ["あ" * 4096, "あ"]),
    ("a skin-tone emoji is two code points, each kept whole", "👍🏽👍🏽", 4, True, ["👍🏽", "👍🏽"]),
]


@pytest.mark.parametrize(("text", "limit", "utf16", "parts"), [case[1:] for case in SPLITS], ids=[c[0] for c in SPLITS])
def test_split_text_cuts_as_the_table_says(text: str, limit: int, utf16: bool, parts: list[str]) -> None:
    assert split_text(text, limit, utf16=utf16) == parts


#: Text rich in what makes splitting hard: line breaks, blank lines, CRLF, astral characters,
#: skin tones and joiners, combining marks, RTL marks, NUL.
_PIECES = st.sampled_from(["\n", "\n\n", "\r\n", "🍎", "👩🏽‍⚕️", "\u200d", "e\u0301", "\u200f", "\x00", "相談", "ｶﾞ"])
_TRICKY_TEXT = st.lists(st.one_of(st.text(max_size=8), _PIECES), min_size=1, max_size=40).map("".join)


def _size(text: str, utf16: bool) -> int:
    return _utf16(text) if utf16 else len(text)


@settings(max_examples=300, deadline=None)
@given(text=_TRICKY_TEXT.filter(bool), limit=st.integers(min_value=2, max_value=40), utf16=st.booleans())
def test_split_parts_fit_are_never_empty_and_give_the_text_back(text: str, limit: int, utf16: bool) -> None:
    parts = split_text(text, limit, utf16=utf16)
    assert parts, "at least one part"
    assert all(part for part in parts), f"an empty part in {parts!r}"
    assert all(_size(part, utf16) <= limit for part in parts), f"a part over {limit}: {parts!r}"
    # The parts in order, with only newlines dropped, and only at the cuts (and at the very end).
    pattern = "\n*".join(re.escape(part) for part in parts) + "\n*"
    assert re.fullmatch(pattern, text, flags=re.DOTALL), f"{text!r} is not {parts!r} joined at line breaks"
    # No part holds half of a surrogate pair: each one encodes as UTF-8 on its own.
    for part in parts:
        part.encode("utf-8")


# --- retry_key ---------------------------------------------------------------------------------


def test_retry_key_is_the_same_for_every_attempt_and_every_process() -> None:
    # Pinned: a key that changed between two deploys would let LINE deliver a retried push twice.
    assert retry_key(1, 0) == "e47f2b5a-ccdd-5a11-81eb-24ae7c14162c"
    assert retry_key(42, 3) == "86ba2235-623c-5451-b574-12361488d9db"
    assert retry_key(42, 3) == retry_key(42, 3)
    assert retry_key(7) == retry_key(7, 0)


def test_retry_key_differs_for_another_outbox_row_or_another_call_of_the_same_row() -> None:
    keys = {retry_key(outbox_id, call) for outbox_id in range(1, 201) for call in range(6)}
    assert len(keys) == 200 * 6
    assert retry_key(1, 12) != retry_key(11, 2)  # "outbox:1:12" and "outbox:11:2" are not the same row
    assert retry_key(12, 1) != retry_key(1, 21)


@pytest.mark.parametrize(("outbox_id", "call"), [(1, 0), (2, 4), (10**12, 0), (0, 0)])
def test_retry_key_is_a_canonical_uuid_string_as_line_requires(outbox_id: int, call: int) -> None:
    key = retry_key(outbox_id, call)
    parsed = uuid.UUID(key)
    assert str(parsed) == key  # lower-case, hyphenated, 36 characters
    assert parsed.version == 5  # name-based: derived from the row, not random
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", key)


def _queue_one(engine: Engine) -> int:
    with session_scope(engine) as session:
        row = enqueue(session=session, kind="notice", channel="line", address="U1", payload={}, at=utcnow())
        return row_id(row)


def test_a_new_outbox_row_never_takes_the_retry_key_of_a_deleted_one(
    engine: Engine,
) -> None:
    """LINE answers 409 to a push whose key it accepted before (for 24 h), and we count a 409 as delivered."""
    first = _queue_one(engine)
    with session_scope(engine) as session:  # as privacy.forget does with a person's pending rows
        session.execute(delete(Outbox).where(col(Outbox.id) == first))
    second = _queue_one(engine)
    assert retry_key(second, 0) != retry_key(first, 0)
