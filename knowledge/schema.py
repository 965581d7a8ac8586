"""The shapes of the knowledge-base data files, as pydantic models.

Every file under ``knowledge/data/`` is parsed into one of these models by
``knowledge.loader``; a field that is wrong is reported with its file and path
(``regions/nemuro.yaml: [resources -> 3 -> town]``). Every fact carries a
``sources`` list naming where it came from and when somebody checked it, so a
coordinator can correct the data without touching code and a reader can see
how fresh each fact is.

Nothing here reads files or renders text: see ``loader`` and ``render``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_PHONE = re.compile(r"^(1\d{2}|#\d{4}|0\d{1,4}-\d{1,4}-\d{3,4}|0570-\d{6})$")  # 119, #8008, 0153-73-3178
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HIRAGANA = re.compile(r"[\u3041-\u3096ー]+")


def _check_phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError(f"not a phone number written like 0153-73-3178, 0570-064-556, 189 or #8008: {value!r}")
    return value


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"ids are lower-case letters, digits, '-' and '_': {value!r}")
    return value


PhoneNumber = Annotated[str, AfterValidator(_check_phone)]
Identifier = Annotated[str, AfterValidator(_check_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceRef(_Strict):
    """Where one fact comes from: a source id from ``sources.yaml`` and the day it was checked."""

    ref: str
    checked: dt.date
    where: str | None = Field(default=None, description="section, page or table inside the source")


class Source(_Strict):
    """A document the knowledge base quotes: a seed file or a public page."""

    id: Identifier
    title: str
    location: str = Field(description="a path under shared/seeds/ or a public URL")
    publisher: str | None = None


class SourceCatalogue(_Strict):
    sources: list[Source] = Field(min_length=1)


class Sourced(_Strict):
    """Anything that states facts must say where they come from."""

    sources: list[SourceRef] = Field(min_length=1)


class PhoneLine(Sourced):
    """A national line a reply may point to (119, よりそいホットライン, ...)."""

    id: Identifier
    name: str
    number: PhoneNumber
    hours: str
    use_for: str = Field(description="one plain line: when a reply should point to this number")
    verified: bool = Field(description="checked against the operator's own page")


class NationalLines(_Strict):
    lines: list[PhoneLine] = Field(min_length=1)


class Hub(Sourced):
    """The region's hub office: who answers, where, and when.

    A fact nobody could confirm is left out (``null``), never guessed: an answer
    that needs it is then not offered in that region (see ``render``).
    """

    name: str
    kind: str = Field(description="e.g. 基幹相談支援センター")
    address: str | None = None
    phone: PhoneNumber | None = None
    phone_hours: str = Field(description="when the phone is answered, e.g. 24時間365日")
    office_hours: str | None = None
    fax: PhoneNumber | None = None
    email: str | None = None
    night_contact: str = Field(description="how nights and holidays are covered, in plain Japanese")


ResourceKind = Literal[
    "group_home",
    "short_stay",
    "trial_room",
    "facility",
    "work_transition",
    "work_support_a",
    "work_support_b",
    "life_care",
    "activity_centre",
    "consultation",
    "housing_list",
    "night_watch",
]


class Resource(Sourced):
    """One resource, or a count of resources of one kind, in one or more towns."""

    id: Identifier
    kind: ResourceKind
    name: str
    towns: list[str] = Field(min_length=1)
    functions: list[str] = Field(
        default_factory=list, description="hub functions it carries, e.g. 居住支援, 体験, 緊急"
    )
    count: int | None = Field(default=None, ge=1, description="how many places, when the source gives a number")
    summary: str = Field(description="one or two plain sentences for a reply")


#: The one placeholder of a quick reply that is not a fact: the name the person was told (see ``QuickReply``).
NAME_PLACEHOLDER = "{name}"
_BARE_PLACEHOLDER = re.compile(r"\{(?![a-z_]+\.[a-z0-9_-]+\})[^{}]*\}")


class QuickReply(_Strict):
    """A canned text a coordinator taps into the reply box of the case page, edits, then sends.

    Never sent with one tap: it only fills the box. ``{name}`` is the name the person was told when the
    case was claimed; a text that uses it needs ``anonymous``, its words for a coordinator named only
    as 「相談員」. Facts are placeholders as in FAQ answers (``{hub.phone}``); a reply whose fact is
    unknown in the region is not offered there.
    """

    label: str = Field(min_length=1, max_length=10, description="the button's few words")
    text: str = Field(min_length=1, max_length=500)
    anonymous: str | None = Field(default=None, min_length=1, max_length=500, description="``text`` without a name")

    @model_validator(mode="after")
    def _name_has_an_anonymous_twin(self) -> QuickReply:
        for words in (self.text, self.anonymous or ""):
            bare = [found for found in _BARE_PLACEHOLDER.findall(words) if found != NAME_PLACEHOLDER]
            if bare:
                raise ValueError(f"unknown placeholders {bare}: only {NAME_PLACEHOLDER} and facts like {{hub.phone}}")
        if NAME_PLACEHOLDER in self.text and self.anonymous is None:
            raise ValueError(f"a text with {NAME_PLACEHOLDER} needs `anonymous`, for a coordinator named only by role")
        if self.anonymous is not None and NAME_PLACEHOLDER in self.anonymous:
            raise ValueError(f"`anonymous` is for a coordinator without a name shown: no {NAME_PLACEHOLDER}")
        return self


class Region(_Strict):
    """A region served by one hub: its towns, its hub and its resources."""

    id: Identifier
    name: str
    prefecture: str
    towns: list[str] = Field(min_length=1)
    town_readings: dict[str, str] = Field(
        default_factory=dict,
        description="each town's name read in hiragana, without 市/町/村, so a town typed in kana or romaji is known",
    )
    hub: Hub
    resources: list[Resource] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="gaps the sources name, for coordinators")
    quick_replies: list[QuickReply] = Field(
        default_factory=list, description="canned texts for the coordinator's reply box, in the order shown"
    )

    @field_validator("quick_replies")
    @classmethod
    def _quick_reply_labels_differ(cls, replies: list[QuickReply]) -> list[QuickReply]:
        labels = [reply.label for reply in replies]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"quick reply labels used more than once: {twice}")
        return replies

    @model_validator(mode="after")
    def _readings_are_of_towns(self) -> Region:
        unknown = sorted(set(self.town_readings) - set(self.towns))
        if unknown:
            raise ValueError(f"town_readings for towns the region does not have: {unknown}")
        not_kana = sorted(town for town, kana in self.town_readings.items() if not _HIRAGANA.fullmatch(kana))
        if not_kana:
            raise ValueError(f"town_readings must be hiragana: {not_kana}")
        return self


class FaqEntry(Sourced):
    """One question people ask, several ways, and the answer the bot gives.

    ``answer`` may use placeholders such as ``{hub.phone}`` or ``{region.towns}``
    so that a fact lives in one place; ``knowledge.render`` lists them all.
    """

    id: Identifier
    questions: list[str] = Field(min_length=3, description="ways people ask it; the first is the canonical one")
    answer: str = Field(min_length=10)
    topics: list[str] = Field(default_factory=list)


class FaqFile(_Strict):
    """A file of FAQ entries: ``common.yaml`` for every region, or one region's own."""

    region: str | None = Field(default=None, description="region id, or absent for entries shared by all regions")
    entries: list[FaqEntry] = Field(min_length=1)


class Synonyms(_Strict):
    """Groups of words people use for the same thing; the first word of each stands for the group."""

    source: str = Field(min_length=3)
    groups: list[list[str]] = Field(min_length=1)
    other_places: list[str] = Field(default_factory=list, description="places a question may be about instead")

    @model_validator(mode="after")
    def _groups_have_two_words(self) -> Synonyms:
        for group in self.groups:
            if len(group) < 2 or len(set(group)) != len(group):
                raise ValueError(f"a synonym group needs two different words or more: {group}")
        return self
