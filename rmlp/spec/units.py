"""Sizes and counts in words a person reads at a glance (one formatter for every message and page)."""

from __future__ import annotations

__all__ = ["count", "human_bytes", "human_count", "human_seconds"]


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"`` (binary units, as memory and file sizes are counted)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_count(n: float) -> str:
    """``2_500_000`` -> ``"2.50M"``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:.0f}"


def count(n: int, word: str, words: str = "") -> str:
    """``count(1, "epoch")`` -> ``"1 epoch"``, ``count(2, "epoch")`` -> ``"2 epochs"`` (``words``: irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def human_seconds(seconds: float) -> str:
    """``60`` -> ``"60 s"``, ``90.5`` -> ``"1 min 31 s"``, ``7200`` -> ``"2 h"``: whole seconds, no trailing zeros."""
    total = round(max(float(seconds), 0.0))
    if total < 90:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{secs} s" if secs and not hours else ""]
    return " ".join(p for p in parts if p)
