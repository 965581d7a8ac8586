"""The sliding window behind every limit: counts fall out as time passes, keys do not grow without end."""

from __future__ import annotations

from bot.limits import Window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_key_has_room_again_once_its_oldest_count_is_out_of_the_window() -> None:
    clock = Clock()
    window = Window(2, 60, clock=clock)
    assert window.take("a") and window.take("a") and not window.take("a")
    assert window.full("a") and not window.full("b")
    clock.now += 30
    assert window.wait("a") == 30
    clock.now += 30
    assert window.take("a") and not window.full("a")  # both counts of t=1000 fell out


def test_add_counts_even_when_full_and_clear_forgets() -> None:
    window = Window(1, 60, clock=Clock())
    window.add("a")
    window.add("a")
    assert window.full("a")
    window.clear("a")
    assert not window.full("a")


def test_a_flood_of_new_keys_is_bounded() -> None:
    clock = Clock()
    window = Window(1, 60, clock=clock, max_keys=100)
    for n in range(1000):
        window.take(f"k{n}")
    assert len(window._hits) <= 100
