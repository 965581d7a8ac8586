"""Giving back the dictionary pages a process has touched, so its resident memory stays flat.

MeCab memory-maps UniDic's ``sys.dic`` (179 MB) and ``matrix.bin`` (68 MB) once per process (one
``Tokenizer`` is shared by the classifier, the FAQ and the answer reader: ``/proc/self/smaps`` shows
each file mapped once). Each word looked up faults
in one 4 KB page, and Linux maps the cached pages around it too (fault-around, 64 KB), so resident
memory grows with the variety of words read: measured with ``/proc/self/smaps``, 135 MB of
``sys.dic`` and 49 MB of ``matrix.bin`` were resident after 10,000 varied messages. ``MADV_RANDOM``
does not change that (measured), and the pages are clean copies of the file: dropping them from this
process (``MADV_DONTNEED``) costs nothing but a minor fault when a word needs them again, since they
stay in the kernel's page cache. ``DictionaryPages.release`` does that; the classifier calls it every
``RELEASE_EVERY`` messages. Peak RSS then counts the pages touched since the last release, not since
start-up. Only on Linux (``/proc/self/maps``); elsewhere it does nothing. Each release also hands the
C heap's free pages back (``trim_heap``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

MADV_DONTNEED = 4  # <sys/mman.h> on Linux
MAPS = Path("/proc/self/maps")
#: Messages between two releases (README "Speed and memory" gives what it costs and saves).
RELEASE_EVERY = 100
#: MeCab's dictionary files (a system dictionary is these four, whichever directory holds it).
DICTIONARY_FILES = frozenset({"sys.dic", "matrix.bin", "char.bin", "unk.dic"})

Madvise = Callable[[int, int, int], int]


def mapped_ranges(maps: Iterable[str]) -> list[tuple[int, int]]:
    """(start, length) of every mapping of a dictionary file, from lines of ``/proc/<pid>/maps``."""
    ranges = []
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and Path(fields[5].strip()).name in DICTIONARY_FILES:
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            ranges.append((start, end - start))
    return ranges


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name is not None else None


def _libc_madvise() -> Madvise | None:
    libc = _libc()
    if libc is None:
        return None
    madvise = libc.madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


def trim_heap() -> None:
    """Hand the C heap's free pages back to the kernel (glibc's ``malloc_trim``; nothing elsewhere).

    Loading the model frees its JSON text and lists, but the freed pages stay counted in RSS until
    the allocator returns them: measured, 26 MB after start-up and a few MB per 2,000 messages.
    """
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)


class DictionaryPages:
    """The memory-mapped dictionary files of this process, as they are when it is built (after the tagger)."""

    __slots__ = ("_madvise", "_ranges")

    def __init__(self, *, madvise: Madvise | None = None, maps: Iterable[str] | None = None) -> None:
        if maps is None:
            maps = MAPS.read_text().splitlines() if MAPS.exists() else []
        self._ranges = mapped_ranges(maps)
        self._madvise = madvise or (_libc_madvise() if self._ranges else None)

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return list(self._ranges)

    def release(self) -> int:
        """Drop this process's resident pages of the dictionary (they are read again when needed);
        the number of mappings released. The C heap's free pages are handed back too (``trim_heap``).
        A refusal is logged, never raised: memory is not worth a crash."""
        trim_heap()
        if self._madvise is None:
            return 0
        released = 0
        for start, length in self._ranges:
            if self._madvise(start, length, MADV_DONTNEED) == 0:
                released += 1
            else:
                log.warning("madvise refused on the dictionary mapping (errno %d)", ctypes.get_errno())
        return released
