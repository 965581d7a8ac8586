"""Placeholders in answers: each fact lives once in the data and is filled in per region.

An answer may say ``{hub.phone}`` or ``{resources.group_home}`` instead of the
number or the list, so a coordinator corrects a fact in one place. Supported:

* ``{region.name}``, ``{region.towns}``
* ``{hub.<field>}`` for any field of ``schema.Hub`` except ``sources``
* ``{line.<id>}``: a national line, as "name number"
* ``{resources.<kind>}``: the region's resources of that kind, one line each

Rendering never guesses: a placeholder whose fact is empty (``null``) in this
region raises ``MissingFact``, and the caller leaves that answer out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.errors import MissingFact
from knowledge.schema import Hub, PhoneLine, Region, Resource

PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z0-9_-]+)\}")
HUB_FIELDS = frozenset(name for name in Hub.model_fields if name != "sources")
REGION_FIELDS = frozenset({"name", "towns"})


def placeholders(template: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in PLACEHOLDER.finditer(template)]


def check_placeholder(group: str, name: str, line_ids: Iterable[str], resource_kinds: Iterable[str]) -> str | None:
    """Why this placeholder can never be filled, or None when it is a valid name."""
    if group == "region":
        return None if name in REGION_FIELDS else f"unknown region field {name!r}"
    if group == "hub":
        return None if name in HUB_FIELDS else f"unknown hub field {name!r}"
    if group == "line":
        return None if name in set(line_ids) else f"unknown national line {name!r}"
    if group == "resources":
        return None if name in set(resource_kinds) else f"unknown resource kind {name!r}"
    return f"unknown placeholder group {group!r}"


def _resource_line(resource: Resource) -> str:
    towns = "・".join(resource.towns)
    count = f" {resource.count}か所" if resource.count and len(resource.towns) == 1 else ""
    return f"・{resource.name}（{towns}{count}）"


def _value(group: str, name: str, region: Region, lines: dict[str, PhoneLine]) -> str | None:
    if group == "region":
        return region.name if name == "name" else "、".join(region.towns)
    if group == "hub":
        value = getattr(region.hub, name)
        return None if value is None else str(value)
    if group == "line":
        line = lines[name]
        return f"{line.name} {line.number}"
    found = [resource for resource in region.resources if resource.kind == name]
    return "\n".join(_resource_line(resource) for resource in found) or None


def render(template: str, region: Region, lines: dict[str, PhoneLine]) -> str:
    """Fill every placeholder for ``region``; raise MissingFact when one has no value there."""

    def fill(match: re.Match[str]) -> str:
        value = _value(match.group(1), match.group(2), region, lines)
        if value is None:
            raise MissingFact(f"{region.id} has no {match.group(0)}")
        return value

    return PLACEHOLDER.sub(fill, template).strip()
