"""What every reader shares: :class:`RawRecord`, opening (maybe gzip-compressed) files, gzip damage."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["GZIP_ERRORS", "RawRecord", "gzip_problem", "not_gzip", "open_bytes"]

GZIP_ERRORS: tuple[type[Exception], ...] = (EOFError, zlib.error, gzip.BadGzipFile)
"""What reading a truncated or damaged ``.gz`` file raises."""


@dataclass(slots=True)
class RawRecord:
    """One record read from a source, or the reason it could not be read."""

    location: str
    data: dict[str, Any] | None
    error: str | None = None


def open_bytes(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing a ``.gz`` file."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def gzip_problem(exc: Exception) -> str:
    """Say what a gzip error means for the import and what to do."""
    if isinstance(exc, EOFError):
        return (
            "the .gz file is truncated here (the compressed data ends early): the records "
            "before this line are kept, nothing after it can be read; download or compress the "
            "file again and import it again (stored records are skipped)"
        )
    return (
        f"the .gz data is damaged here ({exc}): the records before this line are kept; "
        "get an intact copy of the file and import it again (stored records are skipped)"
    )


def not_gzip(path: Path, exc: Exception) -> str:
    """Return the message for a ``.gz`` file that is not gzip data at all."""
    return (
        f"{path.name} is not gzip data ({exc}): nothing was imported; if it is plain text, "
        "rename it without .gz"
    )
