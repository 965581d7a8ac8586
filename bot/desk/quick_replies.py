"""The quick replies a case page offers: each region's canned texts, filled in for the coordinator who answers.

The texts are the hub's data (``quick_replies`` in ``knowledge/data/regions/<region>.yaml``, checked by
``knowledge.schema.QuickReply`` and ``madoguchi kb check``). Filling is pure: the region's facts
(``{hub.phone}``) as in FAQ answers, and ``{name}`` with the name the person was told, or the text's
anonymous twin for a coordinator named only by role. A reply whose fact is unknown in the region is left
out, never shown with a hole. A tap only puts the text into the reply box; the coordinator sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.errors import MissingFact
from knowledge.loader import KnowledgeBase
from knowledge.schema import NAME_PLACEHOLDER, QuickReply


@dataclass(frozen=True, slots=True)
class Filled:
    label: str
    text: str


def for_case(kb: KnowledgeBase, region: str, name: str | None) -> list[Filled]:
    """The region's quick replies as a coordinator named ``name`` (None: by role only) would send them."""
    if region not in kb.regions:
        return []
    filled = (_fill(kb, region, reply, name) for reply in kb.region(region).quick_replies)
    return [reply for reply in filled if reply is not None]


def _fill(kb: KnowledgeBase, region: str, reply: QuickReply, name: str | None) -> Filled | None:
    words = reply.text if name or reply.anonymous is None else reply.anonymous
    try:
        rendered = kb.render(words, region)  # facts first: a name is never read as a placeholder
    except MissingFact:
        return None
    return Filled(reply.label, rendered.replace(NAME_PLACEHOLDER, name or ""))
