"""Reading the project's YAML data files strictly.

PyYAML keeps the last of two equal keys without a word, so a rule with two
``ignores:`` lines would silently lose one. Every data file (lexicon, knowledge
base, reply texts) is read through ``load_yaml``, which refuses duplicate keys
and says where they are. It lives here because ``intents`` is the package every
other one may import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKey(yaml.YAMLError):
    pass


class _StrictLoader(_Base):  # type: ignore[misc]
    """The C-accelerated safe loader, refusing a mapping that repeats a key."""


def _mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKey(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    result: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str) -> Any:
    """Parse YAML text; raises ``yaml.YAMLError`` (``DuplicateKey`` included) on bad input."""
    return yaml.load(text, Loader=_StrictLoader)


def load_yaml_file(path: Path) -> Any:
    return load_yaml(path.read_text("utf-8"))
