"""The Japanese a coordinator reads, loaded from ``labels.yaml``: names of stored codes, notices, pages, reports.

The words are data, as the bot's own texts are (``bot/conversation/texts.yaml``), so a Japanese writer
improves them without reading Python. The file is read strictly: a missing or unknown key, a code
template without its ``{field}``, or two equal keys fail the load (at import), and
``tests/bot/desk/test_labels.py`` checks that the code uses every key and names no key the file lacks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from bot.channels import registry
from bot.conversation.worded import Filled, Worded
from intents.yamlfile import load_yaml_file

LABELS_FILE = Path(__file__).with_name("labels.yaml")


class EventDetails(Worded):
    FILLED: ClassVar[Filled] = {"paged": ("level", "names"), "reason": ("reason",)}
    paged: str
    paged_nobody: str
    reason: str
    urgent: str


class PhoneClaim(Worded):
    FILLED: ClassVar[Filled] = {"won": ("case",), "taken": ("case",), "not_yours": ("case",)}
    won: str
    taken: str
    not_yours: str


class EscalationReasons(Worded):
    stale_intake: str
    unanswered_check: str


class Page(Worded):
    FILLED: ClassVar[Filled] = {
        "title": ("head", "case", "why"),
        "town": ("town",),
        "what": ("intents",),
        "round": ("round",),
    }
    urgent: str
    normal: str
    title: str
    town: str
    what: str
    unknown_town: str
    claim_button: str
    levels: dict[int, str] = Field(min_length=4)  # -1 (the holder), 0, 1, 2
    round: str
    reasons: dict[str, str]


class Durations(Worded):
    FILLED: ClassVar[Filled] = {"minutes": ("minutes",), "hours": ("hours",), "hours_minutes": ("hours", "minutes")}
    under_a_minute: str
    minutes: str
    hours: str
    hours_minutes: str


class Slots(Worded):
    night: str
    day_off: str
    workday: str


class Reports(Worded):
    FILLED: ClassVar[Filled] = {"hour": ("hour",)}
    weekdays: tuple[str, str, str, str, str, str, str]
    hour: str
    unknown_town: str
    unfinished: str
    all_cases: str
    urgent_cases: str
    slots: Slots
    yes: str
    no: str
    csv_columns: tuple[str, ...] = Field(min_length=1)
    period_reversed: str
    period_out_of_range: str
    period_bad_date: str


class Terminal(Worded):
    FILLED: ClassVar[Filled] = {"intro": ("region",)}
    bot: str
    coordinator: str
    system: str
    you: str
    intro: str


class Labels(Worded):
    FILLED: ClassVar[Filled] = {"problems.reply_long": ("limit",)}
    intents: dict[str, str]
    who: dict[str, str]
    events: dict[str, str]
    event_details: EventDetails
    phone_claim: PhoneClaim
    flash: dict[str, str]
    problems: dict[str, str]
    outcomes: tuple[str, ...] = Field(min_length=1)
    household_flags: tuple[str, ...] = Field(min_length=1)
    escalation_reasons: EscalationReasons
    page: Page
    durations: Durations
    reports: Reports
    demo_name: str = Field(min_length=1)
    terminal: Terminal


@cache
def labels(path: Path = LABELS_FILE) -> Labels:
    return Labels.model_validate(load_yaml_file(path))


WORDS = labels()
INTENT_LABELS = WORDS.intents
CHANNEL_LABELS = {row.name: row.label for row in registry.ROWS}
WHO = WORDS.who
EVENT_LABELS = WORDS.events
#: What a coordinator's phone is told after pressing 受ける on a page.
PHONE_CLAIM = WORDS.phone_claim
#: One-line notices on the coordinator pages after an action (``?m=`` of the redirect).
FLASH = WORDS.flash
BAD_FLASH = {"taken", "login", "slow"}
#: Why a case action could not be done (``bot.desk.casework.CaseworkError``), by code: the case page shows
#: the words for the code in ``?e=``, and nothing else from the URL.
PROBLEMS = WORDS.problems
DEMO_NAME = WORDS.demo_name


def duration(minutes: float) -> str:
    """A length of time as the pages write it: under a minute, minutes up to two hours, then hours (and minutes)."""
    if minutes < 1:
        return WORDS.durations.under_a_minute
    whole = round(minutes)
    if whole < 120:
        return WORDS.durations.minutes.format(minutes=whole)
    hours, rest = divmod(whole, 60)
    if rest:
        return WORDS.durations.hours_minutes.format(hours=hours, minutes=rest)
    return WORDS.durations.hours.format(hours=hours)
