"""A section of words read strictly from a YAML data file, with the ``{fields}`` its templates must keep.

Shared by the engine's words for coordinators (``casewords.yaml``) and the desk's (``bot/desk/labels.yaml``,
``evidence.yaml``): a writer may change every word, but a template that lost the ``{field}`` the code fills
stops the load instead of showing a hole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator

#: For each template (a field, or ``field.code``), the ``{fields}`` the code fills into it.
Filled = Mapping[str, tuple[str, ...]]


class Worded(BaseModel):
    """A section of words; ``FILLED`` names the ``{fields}`` the code fills into each template."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    FILLED: ClassVar[Filled] = {}

    @model_validator(mode="after")
    def _templates_have_their_fields(self) -> Self:
        for key, fields in self.FILLED.items():
            template = self._template(key)
            missing = [field for field in fields if "{" + field + "}" not in template]
            if missing:
                raise ValueError(f"{key}: {template!r} lacks {missing}: the code fills them")
        return self

    def _template(self, key: str) -> str:
        """``key`` is a field, or ``field.code`` for a code in a mapping of words."""
        field, _, code = key.partition(".")
        value = getattr(self, field)
        return str(value.get(code, "{}") if code else value)
