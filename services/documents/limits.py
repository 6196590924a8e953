"""Limits on the work one file may cause. Light on purpose: the parent processes import it
without the readers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZipLimits:
    """Checked from a DOCX's central directory before anything is inflated."""

    max_entries: int = 5000
    max_total_bytes: int = 512 * 1024 * 1024
    max_ratio: int = 200


@dataclass(frozen=True)
class Limits:
    """Per-file limits of the sandbox. Defaults match the documents settings' defaults."""

    seconds: float = 60.0
    memory_bytes: int = 768 * 1024 * 1024
    max_pages: int = 2000
    zip: ZipLimits = field(default_factory=ZipLimits)
