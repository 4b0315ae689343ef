"""A cache bounded in bytes, whose entries belong to sessions and go when their last session ends.

The app keeps parsed tables and loaded data sets between redraws. A count of entries says nothing
about memory (one wide table can take gigabytes), so :class:`ByteCache` counts the bytes of what it
keeps, drops the least recently used entries beyond its budget, keeps nothing larger than the budget,
and forgets a session's entries when :meth:`ByteCache.release` is called for it (the session ended).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_ARRAYS = ("x_train", "x_val", "x_test", "y_train", "y_val", "y_test")


def size_of(value: Any) -> int:
    """Bytes a cached value holds: a DataFrame's memory, or the arrays of a (loaded) data set."""
    if hasattr(value, "memory_usage"):
        return int(value.memory_usage(deep=True, index=True).sum())
    data = getattr(value, "data", value)
    total = sum(int(getattr(getattr(data, name, None), "nbytes", 0)) for name in _ARRAYS)
    preview = getattr(data, "preview", None)
    if preview is not None and hasattr(preview, "memory_usage"):
        total += int(preview.memory_usage(deep=True, index=True).sum())
    return max(total, 1)


class ByteCache:
    """``get(key, make, owner)``: the value made once, kept while it fits ``budget()`` bytes and its owners live."""

    def __init__(self, budget: Callable[[], int], sizer: Callable[[Any], int] = size_of) -> None:
        self._budget = budget
        self._sizer = sizer
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Any, int, set[str]]] = OrderedDict()

    @property
    def bytes(self) -> int:
        """Bytes held now."""
        with self._lock:
            return sum(size for _, size, _ in self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: Hashable, make: Callable[[], T], owner: str) -> T:
        """The value for ``key`` (made by ``make()`` when missing); ``owner`` (a session) now holds it too."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                found[2].add(owner)
                self._items.move_to_end(key)
                return found[0]
        value = make()
        size = self._sizer(value)
        with self._lock:
            budget = self._budget()
            if size <= budget:
                self._items[key] = (value, size, {owner})
                self._items.move_to_end(key)
                self._shrink(budget)
        return value

    def _shrink(self, budget: int) -> None:
        total = sum(size for _, size, _ in self._items.values())
        while total > budget and self._items:
            _, (_, size, _) = self._items.popitem(last=False)
            total -= size

    def release(self, owner: str) -> None:
        """``owner``'s session ended: entries no other session holds are dropped."""
        with self._lock:
            for key in list(self._items):
                owners = self._items[key][2]
                owners.discard(owner)
                if not owners:
                    del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
