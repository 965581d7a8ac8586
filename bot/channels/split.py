"""Text at the platform edge: strict JSON in, long texts split for the platforms' limits on the way out.

LINE counts UTF-16 code units (an emoji such as 🍎 counts 2); Telegram counts
characters. A part never ends inside a surrogate pair, and lines are kept whole
unless one line alone is too long.
"""

from __future__ import annotations

import json


def _size(text: str, utf16: bool) -> int:
    return len(text.encode("utf-16-le")) // 2 if utf16 else len(text)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def strict_json(body: bytes) -> object:
    """``json.loads`` without NaN and Infinity (PostgreSQL's json refuses them); deep nesting is an error too."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except RecursionError as error:
        raise ValueError("nested too deep") from error


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    if _size(text, utf16) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if _size(current + line, utf16) <= limit:
            current += line
            continue
        if current:
            parts.append(current)
            current = ""
        while _size(line, utf16) > limit:
            cut = _fit(line, limit, utf16)
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


def _fit(line: str, limit: int, utf16: bool) -> int:
    """How many characters of ``line`` fit in ``limit`` (Python strings index whole code points)."""
    size, count = 0, 0
    for char in line:
        step = _size(char, utf16)
        if size + step > limit:
            break
        size, count = size + step, count + 1
    return max(count, 1)
