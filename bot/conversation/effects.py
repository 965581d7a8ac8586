"""Effects: what the engine asks the outside world to do, as plain data.

The engine never does I/O. It returns these, and the caller carries them out
in order, after storing the new state (the storage and channel layers). Tests
read them to check what would happen.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.summary import CaseSummary


@dataclass(frozen=True, slots=True)
class OpenCase:
    """Start a case for this person (one open case at a time)."""

    summary: CaseSummary


@dataclass(frozen=True, slots=True)
class UpdateCase:
    """The intake learned something: replace the case summary."""

    summary: CaseSummary


@dataclass(frozen=True, slots=True)
class Escalate:
    """Put the case in front of a coordinator; ``urgent`` pages the one on call now.

    ``news``: new urgent news on a case already paged (a second person collapsed mid-intake): the
    coordinators paged for it, or the one who holds it, hear about it again."""

    urgent: bool
    reasons: tuple[str, ...]
    summary: CaseSummary
    news: bool = False


@dataclass(frozen=True, slots=True)
class AwaitAnswer:
    """The check question was asked. ``page_on_silence``: a risk cue was seen, so no answer within a few
    minutes pages the coordinator; without one (the model alone was unsure) silence leaves the case in the
    queue for the next shift. Any later message from the person answers it."""

    page_on_silence: bool


@dataclass(frozen=True, slots=True)
class AskConsent:
    """Record that consent to keep health details was asked (and when)."""


@dataclass(frozen=True, slots=True)
class RecordConsent:
    granted: bool


@dataclass(frozen=True, slots=True)
class ForgetMe:
    """Delete this person's messages and personal fields; anonymous statistics stay."""


@dataclass(frozen=True, slots=True)
class NoteReceived:
    """Something the bot cannot read came (a photo, a sticker): the case notes it, the coordinator can look."""

    what: str


Effect = OpenCase | UpdateCase | Escalate | AwaitAnswer | AskConsent | RecordConsent | ForgetMe | NoteReceived
