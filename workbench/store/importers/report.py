"""What an import did: :class:`ImportReport` (counts, layouts, formats, models, rejections)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ImportIssue", "ImportReport"]


@dataclass(slots=True)
class ImportIssue:
    """A record that was not imported: where it is and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    """What :func:`import_file` did.

    Attributes
    ----------
    path, source, format
        What was read, the source name recorded on each trajectory, the format used.
    layout
        ``{target: source field}`` used for the first record.
    other_layouts
        Further layouts, when records have different fields.
    read
        Records read (valid or not).
    imported
        Trajectories written.
    duplicates
        Trajectories skipped because the store already had them (same source and id).
    pairs
        Preference pairs written (preference-format sources).
    unjoined
        Records without a match in the ``join`` file (imported without the joined fields).
    errors
        Records not imported, with location and reason.
    think_formats
        How many imported trajectories had each think format.
    layouts
        How many records were read with each layout (a named layout such as ``openr1_math``, or
        ``columns`` / ``messages`` / ``preference`` for field detection).
    models
        How many imported trajectories name each model (``"-"``: none).
    seconds
        Wall time.
    """

    path: str
    source: str
    format: str
    layout: dict[str, str] = field(default_factory=dict)
    other_layouts: list[dict[str, str]] = field(default_factory=list)
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    pairs: int = 0
    unjoined: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    think_formats: dict[str, int] = field(default_factory=dict)
    layouts: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def layout_name(self) -> str:
        """The layout recognised: the one name, or the names joined with ``+`` for mixed files."""
        ranked = sorted(self.layouts.items(), key=lambda kv: (-kv[1], kv[0]))
        return "+".join(name for name, _ in ranked) or "-"

    @property
    def ok(self) -> bool:
        """``True`` when every record was imported or was already stored."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        out = asdict(self)
        out["errors"] = [{"location": e.location, "reason": e.reason} for e in self.errors]
        out["layout_name"] = self.layout_name
        return out

    def summary(self, *, max_errors: int = 20) -> str:
        """Return a few human-readable lines: counts, formats and the first errors."""
        formats = ", ".join(f"{k} {v}" for k, v in sorted(self.think_formats.items()))
        lines = [
            f"{self.path}: read {self.read} records, imported {self.imported}, "
            f"skipped {self.duplicates} already stored, rejected {len(self.errors)} "
            f"({self.seconds:.1f} s)",
        ]
        if self.layouts:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(self.layouts.items()))
            lines.append(f"  layout: {self.layout_name} (records: {shown})")
        if self.pairs:
            lines.append(f"  pairs: {self.pairs}")
        if self.unjoined:
            lines.append(f"  {self.unjoined} records had no match in the joined file")
        if formats:
            lines.append(f"  think formats: {formats}")
        if self.models:
            ranked = sorted(self.models.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{k} {v}" for k, v in ranked[:12])
            more = f", … {len(ranked) - 12} more" if len(ranked) > 12 else ""
            lines.append(f"  models: {shown}{more}")
        for issue in self.errors[:max_errors]:
            lines.append(f"  rejected {issue}")
        if len(self.errors) > max_errors:
            lines.append(f"  … and {len(self.errors) - max_errors} more")
        return "\n".join(lines)
