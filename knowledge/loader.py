"""Load the knowledge base from ``knowledge/data/`` and check it as a whole.

Each YAML file is parsed into its schema model; then the files are checked
against each other (every source reference exists, every placeholder can be
filled, ids are unique). Every problem is collected, not just the first, so
``madoguchi kb check`` can list them all with file, entry and field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from intents.yamlfile import load_yaml_file
from knowledge.errors import InvalidKnowledge, MissingFact, Problem, UnknownRegion
from knowledge.render import check_placeholder, placeholders, render
from knowledge.schema import (
    FaqEntry,
    FaqFile,
    NationalLines,
    PhoneLine,
    Region,
    Source,
    SourceCatalogue,
    Sourced,
    Synonyms,
)

DATA_DIR = Path(__file__).parent / "data"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Answer:
    """A FAQ entry as one region answers it: the rendered text and the sources behind it."""

    entry: FaqEntry
    text: str

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass(frozen=True)
class KnowledgeBase:
    sources: dict[str, Source]
    lines: dict[str, PhoneLine]
    regions: dict[str, Region]
    faq: dict[str | None, list[FaqEntry]]  # None: entries shared by every region
    synonyms: tuple[tuple[str, ...], ...] = ()  # for FAQ retrieval: each group's first word stands for it
    other_places: frozenset[str] = frozenset()  # for FAQ retrieval: 市役所, 病院… are not this centre

    def region(self, region_id: str) -> Region:
        try:
            return self.regions[region_id]
        except KeyError:
            known = ", ".join(sorted(self.regions))
            raise UnknownRegion(f"no region {region_id!r}; known: {known}") from None

    def line(self, line_id: str) -> PhoneLine:
        return self.lines[line_id]

    def entries(self, region_id: str) -> list[FaqEntry]:
        return [*self.faq.get(None, []), *self.faq.get(region_id, [])]

    def answers(self, region_id: str) -> list[Answer]:
        """Every entry this region can answer; one whose facts are missing here is left out."""
        region = self.region(region_id)
        answers = []
        for entry in self.entries(region_id):
            try:
                answers.append(Answer(entry, render(entry.answer, region, self.lines)))
            except MissingFact:
                continue
        return answers

    def unavailable(self, region_id: str) -> list[tuple[str, str]]:
        """(entry id, reason) for entries this region cannot answer yet."""
        region = self.region(region_id)
        missing = []
        for entry in self.entries(region_id):
            try:
                render(entry.answer, region, self.lines)
            except MissingFact as exc:
                missing.append((entry.id, str(exc)))
        return missing

    def render(self, template: str, region_id: str) -> str:
        return render(template, self.region(region_id), self.lines)


def _read(path: Path, model: type[ModelT], problems: list[Problem], root: Path) -> ModelT | None:
    name = str(path.relative_to(root))
    try:
        raw = load_yaml_file(path)
    except yaml.YAMLError as exc:
        problems.append(Problem(name, "file", f"not valid YAML: {exc}"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            where = " -> ".join(str(part) for part in error["loc"]) or "file"
            problems.append(Problem(name, where, error["msg"]))
        return None


def _sourced(obj: BaseModel, path: str) -> Iterator[tuple[str, Sourced]]:
    """Every object with ``sources`` inside ``obj``, with its path."""
    if isinstance(obj, Sourced):
        yield path, obj
    for field_name in type(obj).model_fields:
        value = getattr(obj, field_name)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            if isinstance(item, BaseModel):
                child = f"{path} -> {field_name}" + ("" if index is None else f" -> {index}")
                yield from _sourced(item, child.removeprefix(" -> "))


def _unfillable(template: str, kb: KnowledgeBase, kinds: Iterable[str], name: str, where: str) -> Iterator[Problem]:
    """A problem for each placeholder in ``template`` that no region could ever fill."""
    for group, field_name in placeholders(template):
        reason = check_placeholder(group, field_name, kb.lines, kinds)
        if reason:
            yield Problem(name, where, reason)


def _cross_check(kb: KnowledgeBase, files: dict[str, BaseModel], problems: list[Problem]) -> None:
    kinds = {resource.kind for region in kb.regions.values() for resource in region.resources}
    for name, model in files.items():
        for where, item in _sourced(model, ""):
            for index, ref in enumerate(item.sources):
                if ref.ref not in kb.sources:
                    problems.append(
                        Problem(name, f"{where} -> sources -> {index} -> ref", f"unknown source {ref.ref!r}")
                    )
    for name, model in files.items():
        if not isinstance(model, FaqFile):
            continue
        if model.region is not None and model.region not in kb.regions:
            problems.append(Problem(name, "region", f"unknown region {model.region!r}"))
        for index, entry in enumerate(model.entries):
            problems.extend(_unfillable(entry.answer, kb, kinds, name, f"entries -> {index} -> answer"))
    for name, model in files.items():
        if isinstance(model, Region):
            for index, reply in enumerate(model.quick_replies):
                for words in (reply.text, reply.anonymous or ""):
                    problems.extend(_unfillable(words, kb, kinds, name, f"quick_replies -> {index}"))
    faq_ids = Counter(entry.id for entries in kb.faq.values() for entry in entries)
    problems.extend(Problem("faq", entry_id, "FAQ id used more than once") for entry_id, n in faq_ids.items() if n > 1)
    resource_ids = Counter(r.id for region in kb.regions.values() for r in region.resources)
    problems.extend(
        Problem("regions", rid, "resource id used more than once") for rid, n in resource_ids.items() if n > 1
    )


def check(data_dir: Path = DATA_DIR) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Load everything; return the knowledge base (None if any file failed) and every problem found."""
    problems: list[Problem] = []
    files: dict[str, BaseModel] = {}

    def read(path: Path, model: type[ModelT]) -> ModelT | None:
        parsed = _read(path, model, problems, data_dir)
        if parsed is not None:
            files[str(path.relative_to(data_dir))] = parsed
        return parsed

    catalogue = read(data_dir / "sources.yaml", SourceCatalogue)
    national = read(data_dir / "national.yaml", NationalLines)
    regions = [read(path, Region) for path in sorted((data_dir / "regions").glob("*.yaml"))]
    faq_files = [read(path, FaqFile) for path in sorted((data_dir / "faq").glob("*.yaml"))]
    synonyms_file = data_dir / "synonyms.yaml"
    synonyms = read(synonyms_file, Synonyms) if synonyms_file.exists() else None
    if problems or catalogue is None or national is None:
        return None, problems
    faq: dict[str | None, list[FaqEntry]] = {}
    for faq_file in faq_files:
        assert faq_file is not None
        faq.setdefault(faq_file.region, []).extend(faq_file.entries)
    kb = KnowledgeBase(
        sources={source.id: source for source in catalogue.sources},
        lines={line.id: line for line in national.lines},
        regions={region.id: region for region in regions if region is not None},
        faq=faq,
        synonyms=tuple(tuple(group) for group in synonyms.groups) if synonyms is not None else (),
        other_places=frozenset(synonyms.other_places) if synonyms is not None else frozenset(),
    )
    _cross_check(kb, files, problems)
    return (None if problems else kb), problems


def load_knowledge(data_dir: Path = DATA_DIR) -> KnowledgeBase:
    kb, problems = check(data_dir)
    if kb is None:
        raise InvalidKnowledge(problems)
    return kb
