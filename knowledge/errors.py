"""Errors raised by the knowledge package.

KnowledgeError
 ├── InvalidKnowledge   one or more data files break the schema (carries every Problem found)
 ├── UnknownRegion      a region id with no data file
 └── MissingFact        an answer needs a fact the region's data leaves empty
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in one data file, located like spaCy's schema errors: file, entry, field."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.where}] {self.message}"


class KnowledgeError(Exception):
    pass


class InvalidKnowledge(KnowledgeError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n{listed}")


class UnknownRegion(KnowledgeError):
    pass


class MissingFact(KnowledgeError):
    pass
