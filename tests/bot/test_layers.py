"""The import direction in ``bot/``: each room imports only the rooms below it, and no module imports itself back.

    cli ─> web ─> runtime ─> desk ─> conversation ─> intents, knowledge
                     │        │
                     └────────┴─> channels ─> conversation.model, settings
    (desk, runtime, web ─> storage; storage, intents, knowledge import nothing of bot)

Read from the source (every ``import``, also those inside functions), so a
lazy import cannot hide a wrong arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

#: What each room must never import (by prefix).
FORBIDDEN = {
    "bot.conversation": ("bot.channels", "bot.desk", "bot.runtime", "bot.web", "bot.cli", "storage"),
    "bot.channels": ("bot.desk", "bot.runtime", "bot.web", "bot.cli", "bot.metrics", "storage"),
    "bot.desk": ("bot.runtime", "bot.web", "bot.cli"),
    "bot.runtime": ("bot.web", "bot.cli"),
    "bot.web": ("bot.cli",),
}
#: Of the bot, channels import only these (the conversation's data types and the settings their registry reads).
CHANNELS_MAY = ("bot.channels", "bot.conversation.model", "bot.settings")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # ``from bot.desk import paging`` imports the module bot.desk.paging
                sub = f"{node.module}.{alias.name}"
                yield sub if _exists(sub) else node.module


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _bot_modules() -> dict[str, Path]:
    return {_module(path): path for path in sorted(BOT.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_a_room_imports_nothing_above_it(room: str) -> None:
    wrong = [
        f"{name} imports {target}"
        for name, path in _bot_modules().items()
        if _within(name, room)
        for target in _imports(path)
        if any(_within(target, bad) for bad in FORBIDDEN[room])
    ]
    assert wrong == []


def test_channels_depend_only_on_the_conversations_data_types() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, path in _bot_modules().items()
        if _within(name, "bot.channels")
        for target in _imports(path)
        if _within(target, "bot") and not any(_within(target, ok) for ok in CHANNELS_MAY)
    ]
    assert wrong == []


def test_the_shipped_packages_never_import_the_tools() -> None:
    top = ("bot", "intents", "knowledge", "storage")
    wrong = [
        f"{_module(path)} imports {target}"
        for package in top
        for path in sorted((ROOT / package).rglob("*.py"))
        for target in _imports(path, top_level_only=True)
        if _within(target, "tools") or _within(target, "tests")
    ]
    assert wrong == []


def test_there_is_no_import_circle_in_bot() -> None:
    """Imports inside functions count too: a lazy import that closes a circle is still a circle."""
    modules = _bot_modules()
    graph = {
        name: {target for target in _imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
