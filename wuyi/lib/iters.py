"""Chunking, for reads and writes that go to the database a few thousand rows at a time; and
the natural sort order of names with numbers in them."""

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = 5000) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most `size` items from any iterable (a generator, a queryset iterator)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that puts 2号楼 before 10号楼: runs of digits compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))
