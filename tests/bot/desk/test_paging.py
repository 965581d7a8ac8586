"""Who is on call when (Asia/Tokyo), as a table; the rota's edit side (``bot.desk.rota``)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.desk.paging import TOKYO, on_call
from bot.desk.rota import RotaError, minutes
from storage.models import RotaSlot

WEEKDAY_NIGHTS = RotaSlot(id=1, region="nemuro", coordinator_id=1, weekdays="01234", start=17 * 60, end=9 * 60)
WEEKEND = RotaSlot(id=2, region="nemuro", coordinator_id=2, weekdays="56", start=0, end=1440)
BACKUP_NIGHTS = RotaSlot(id=3, region="nemuro", coordinator_id=3, weekdays="0123456", start=22 * 60, end=6 * 60, rank=1)
SLOTS = [BACKUP_NIGHTS, WEEKDAY_NIGHTS, WEEKEND]


def tokyo(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """2026-11-23 is a Monday; ``day`` 0..6 counts from it."""
    return dt.datetime(2026, 11, 23 + day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("at", "expected", "why"),
    [
        (tokyo(0, 2), [3], "Monday 02:00: the weekend slot ended at Sunday 24:00; only the backup"),
        (tokyo(1, 2), [1, 3], "Tuesday 02:00 is Monday night's slot, running past midnight"),
        (tokyo(0, 12), [], "weekday noon: the office is open, nobody on the night rota"),
        (tokyo(4, 17), [1], "Friday 17:00: the night slot starts"),
        (tokyo(4, 16, 59), [], "one minute before"),
        (tokyo(5, 8, 59), [1, 2], "Saturday 08:59: Friday night still runs (same rank: older slot first)"),
        (tokyo(5, 9), [2], "Saturday 09:00: Friday night is over"),
        (tokyo(6, 23), [2, 3], "Sunday 23:00: weekend first (rank 0), backup second"),
    ],
)
def test_who_is_on_call(at: dt.datetime, expected: list[int], why: str) -> None:
    assert on_call(SLOTS, at.astimezone(dt.UTC)) == expected, why


def test_one_person_on_two_slots_is_called_once() -> None:
    twice = [WEEKDAY_NIGHTS, RotaSlot(id=9, region="nemuro", coordinator_id=1, weekdays="0123456", rank=1)]
    assert on_call(twice, tokyo(1, 2)) == [1]


@pytest.mark.parametrize(("text", "expected"), [("17:00", 1020), ("9:05", 545), ("24:00", 1440), ("00:00", 0)])
def test_times_are_read_as_minutes(text: str, expected: int) -> None:
    assert minutes(text) == expected


@pytest.mark.parametrize("text", ["25:00", "17:60", "24:01", "5pm", ""])
def test_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(RotaError):
        minutes(text)
