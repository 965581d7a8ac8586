"""The dictionary's mapped pages are given back: resident memory stops growing with the variety of words."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from intents.classifier import Classifier
from intents.dataset import TRAIN_FILE, load_examples
from intents.mapped import MAPS, DictionaryPages, mapped_ranges, trim_heap

pytestmark = pytest.mark.skipif(not MAPS.exists(), reason="needs /proc (Linux)")


def _resident_kb(name: str) -> int:
    """Resident kB of this process's mappings of the file called ``name``, from /proc/self/smaps."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            inside = len(fields) == 6 and Path(fields[5]).name == name
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_only_dictionary_files_are_taken_from_the_maps() -> None:
    maps = [
        "7f0000000000-7f0004000000 r--s 00000000 00:2a 123  /venv/unidic_lite/dicdir/sys.dic",
        "7f0010000000-7f0010001000 r--s 00000000 00:2a 124  /venv/unidic_lite/dicdir/matrix.bin",
        "7f0020000000-7f0020002000 r-xp 00000000 00:2a 125  /usr/lib/libc.so.6",
        "7f0030000000-7f0030001000 rw-p 00000000 00:00 0",
    ]
    assert mapped_ranges(maps) == [(0x7F0000000000, 0x4000000), (0x7F0010000000, 0x1000)]


def test_releasing_gives_the_touched_pages_back(classifier: Classifier) -> None:
    for example in load_examples(TRAIN_FILE)[:1500]:  # varied words touch many dictionary pages
        classifier.tokenizer.tokenize(example.text)
    touched = _resident_kb("sys.dic")
    pages = DictionaryPages()
    assert pages.release() >= 2  # sys.dic and matrix.bin at least: the tagger maps each once
    assert _resident_kb("sys.dic") < touched // 4
    assert classifier.tokenizer.tokenize("入院しました")[0].lemma == "入院"  # read again from the file


def test_the_classifier_releases_every_so_many_messages(classifier: Classifier) -> None:
    releasing = Classifier(classifier.lexicon, classifier.model, classifier.tokenizer, release_every=50)
    texts = [example.text for example in load_examples(TRAIN_FILE)[1500:3000]]
    for text in texts[:49]:
        releasing.classify(text)
    before = _resident_kb("sys.dic")
    releasing.classify("母が倒れました")  # the 50th: pages are given back before it is read
    assert _resident_kb("sys.dic") < before // 2
    assert releasing.classify("母が倒れました") == classifier.classify("母が倒れました")


def test_a_refusal_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    maps = ["7f0000000000-7f0004000000 r--s 00000000 00:2a 123  /venv/unidic_lite/dicdir/sys.dic"]
    pages = DictionaryPages(madvise=lambda start, length, advice: -1, maps=maps)
    with caplog.at_level(logging.WARNING):
        assert pages.release() == 0
    assert "madvise refused" in caplog.text


def _anonymous_kb() -> int:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["RssAnon"].split()[0])


def test_the_heap_freed_after_loading_is_handed_back() -> None:
    """Freed memory between live blocks stays counted until malloc_trim (what loading the model leaves)."""
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(60_000)]  # 60 MB of C-heap blocks
    kept = blocks[::20]
    del blocks
    held = _anonymous_kb()
    trim_heap()
    assert _anonymous_kb() < held - 20_000
    assert len(kept) == 3_000
