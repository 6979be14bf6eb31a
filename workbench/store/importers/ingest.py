"""``import_file``: read a source, convert each record, store the valid ones, report the rest."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ImportFormatError
from workbench.pair import Pair
from workbench.store.store import Store

from .convert import Converted, RecordError, convert_record
from .layout import Layout, detect_layout
from .readers import RawRecord, detect_format, read_records

__all__ = ["ImportIssue", "ImportReport", "default_source", "import_file"]


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
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """``True`` when every record was imported or was already stored."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict."""
        out = asdict(self)
        out["errors"] = [{"location": e.location, "reason": e.reason} for e in self.errors]
        return out

    def summary(self, *, max_errors: int = 20) -> str:
        """Return a few human-readable lines: counts, formats and the first errors."""
        formats = ", ".join(f"{k} {v}" for k, v in sorted(self.think_formats.items()))
        lines = [
            f"{self.path}: read {self.read} records, imported {self.imported}, "
            f"skipped {self.duplicates} already stored, rejected {len(self.errors)} "
            f"({self.seconds:.1f} s)",
        ]
        if self.pairs:
            lines.append(f"  pairs: {self.pairs}")
        if self.unjoined:
            lines.append(f"  {self.unjoined} records had no match in the joined file")
        if formats:
            lines.append(f"  think formats: {formats}")
        for issue in self.errors[:max_errors]:
            lines.append(f"  rejected {issue}")
        if len(self.errors) > max_errors:
            lines.append(f"  … and {len(self.errors) - max_errors} more")
        return "\n".join(lines)


def default_source(path: Path) -> str:
    """Return the source name used when none is given: ``<folder>/<file name>``."""
    resolved = path.resolve()
    return f"{resolved.parent.name}/{resolved.name}" if resolved.parent.name else resolved.name


def import_file(
    store: Store,
    path: str | Path,
    *,
    source: str | None = None,
    mapping: Mapping[str, str] | None = None,
    format: str | None = None,
    model: str | None = None,
    tags: list[str] | None = None,
    join: str | Path | None = None,
    on: str | None = None,
    batch_size: int = 2000,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a file (or ``datasets`` folder) of traces into ``store``.

    Parameters
    ----------
    store
        The destination.
    path
        JSONL, JSON, Parquet, CSV/TSV, or a ``datasets`` ``save_to_disk`` folder.
    source
        Name recorded as each trajectory's ``source`` and part of the de-duplication key; defaults
        to ``<folder>/<file name>``. Importing the same source twice adds nothing new.
    mapping
        ``{target: source field}`` overrides of the detected layout (see
        :mod:`workbench.store.importers.layout`).
    format
        Override the format guessed from the file name.
    model
        Model name for records that do not name one.
    tags
        Tags added to every imported trajectory.
    join, on
        Another file (any supported format) whose records are merged into the records of
        ``path`` that have the same value of field ``on``; fields already in a record win. E.g.
        the IFEval responses joined with ``input_data.jsonl`` on ``prompt`` bring in
        ``instruction_id_list`` and ``kwargs``; traces joined with a questions file on
        ``question_id`` bring in the question, which then becomes the prompt.
    batch_size
        Records per transaction.
    progress
        Called with the report so far after each batch.

    Returns
    -------
    ImportReport
        Counts and the records that were rejected (the valid ones are stored).

    Raises
    ------
    ImportFormatError
        When the file cannot be read at all or no field holds a response.
    """
    start = time.perf_counter()
    p = Path(path)
    fmt = format or (detect_format(p) if p.exists() else "")
    report = ImportReport(path=str(p), source=source or default_source(p), format=fmt)
    layouts: dict[frozenset[str], Layout] = {}
    batch: list[Converted] = []
    formats: Counter[str] = Counter()

    def flush() -> None:
        _store_batch(store, batch, report, formats)
        batch.clear()
        report.think_formats = dict(formats)
        if progress is not None:
            progress(report)

    lookup = _join_lookup(join, on)
    records = read_records(p, format=format)
    try:
        for rec in records:
            report.read += 1
            if rec.data is None:
                report.errors.append(ImportIssue(rec.location, rec.error or "unreadable"))
                continue
            if lookup is not None:
                extra = lookup.get(_join_key(rec.data.get(on)))  # type: ignore[arg-type]
                if extra is None:
                    report.unjoined += 1
                else:
                    rec.data = {**extra, **rec.data}
            layout = _layout_for(rec, layouts, mapping, report)
            if layout is None:
                continue
            converted = _convert(rec, layout, report, source=report.source, model=model, tags=tags)
            if converted is not None:
                batch.append(converted)
            if len(batch) >= batch_size:
                flush()
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{p.name} is not UTF-8 text ({exc.reason}): convert it first"
        ) from exc
    flush()
    report.seconds = time.perf_counter() - start
    return report


def _join_key(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _join_lookup(
    join: str | Path | None, on: str | None
) -> dict[str | None, dict[str, Any]] | None:
    """Index the records of the ``join`` file by their ``on`` field."""
    if join is None and on is None:
        return None
    if join is None or not on:
        raise ImportFormatError("a join needs both a file (--join FILE) and a field (--on FIELD)")
    lookup: dict[str | None, dict[str, Any]] = {}
    seen_field = False
    for rec in read_records(Path(join)):
        if rec.data is None:
            raise ImportFormatError(f"{Path(join).name} {rec.location}: {rec.error}")
        if on in rec.data:
            seen_field = True
            lookup.setdefault(_join_key(rec.data[on]), rec.data)
    if not seen_field:
        raise ImportFormatError(f"{Path(join).name} has no field {on!r} to join on")
    return lookup


def _layout_for(
    rec: RawRecord,
    layouts: dict[frozenset[str], Layout],
    mapping: Mapping[str, str] | None,
    report: ImportReport,
) -> Layout | None:
    """Return the layout of a record, detected once per distinct set of keys.

    Files may mix layouts (or omit optional keys in some records). A layout problem in the first
    record is a problem with the whole file and raises; in a later record it rejects that record.
    """
    assert rec.data is not None
    keys = frozenset(rec.data)
    layout = layouts.get(keys)
    if layout is not None:
        return layout
    try:
        layout = detect_layout(rec.data.keys(), mapping)
    except ImportFormatError as exc:
        if not layouts:
            raise
        report.errors.append(ImportIssue(rec.location, str(exc)))
        return None
    layouts[keys] = layout
    described = layout.describe()
    if len(layouts) == 1:
        report.layout = described
    elif described != report.layout and described not in report.other_layouts:
        report.other_layouts.append(described)
    return layout


def _convert(
    rec: RawRecord,
    layout: Layout,
    report: ImportReport,
    *,
    source: str,
    model: str | None,
    tags: list[str] | None,
) -> Converted | None:
    assert rec.data is not None
    try:
        return convert_record(rec.data, layout, source=source, model=model, extra_tags=tags)
    except RecordError as exc:
        report.errors.append(ImportIssue(rec.location, str(exc)))
        return None


def _store_batch(
    store: Store, batch: list[Converted], report: ImportReport, formats: Counter[str]
) -> None:
    if not batch:
        return
    trajectories = [t for c in batch for t in c.trajectories]
    keys = [k for c in batch for k in c.dedup_keys]
    result = store.add_trajectories(trajectories, dedup_keys=keys)
    report.imported += len(result.inserted)
    report.duplicates += len(result.duplicates)
    inserted = set(result.inserted)
    formats.update(str(t.think_format) for t in trajectories if t.id in inserted)
    pairs = [p for c in batch for p in c.pairs]
    if not pairs:
        return
    stored_ids = store.ids_for_keys(keys)
    new_id_to_stored = {t.id: stored_ids[k] for t, k in zip(trajectories, keys, strict=True)}
    for pair in pairs:
        remapped = Pair(
            prompt_key=pair.prompt_key,
            chosen_id=new_id_to_stored[pair.chosen_id],
            rejected_id=new_id_to_stored[pair.rejected_id],
            strategy=pair.strategy,
            provenance=pair.provenance,
        )
        if store.add_pair(remapped) == remapped.id:
            report.pairs += 1
