"""``import_file``: read a source, convert each record, store the valid ones, report the rest."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.errors import ImportFormatError, ValidationError
from workbench.pair import Pair
from workbench.store.store import Store

from .convert import Converted, RecordError, convert_record
from .hf import is_hf_spec, resolve_hf
from .known import LAYOUTS, Context, NamedLayout
from .layout import Layout, check_mapping, detect_layout
from .layouts_chat import ChunkAssembler, convert_stream
from .readers import RawRecord, detect_format, read_records
from .registry import get_layout, recognise
from .report import ImportIssue, ImportReport

__all__ = ["ImportIssue", "ImportReport", "default_source", "import_file"]


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
    layout: str | None = None,
    model: str | None = None,
    tags: list[str] | None = None,
    join: str | Path | None = None,
    on: str | None = None,
    batch_size: int = 2000,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a file (or ``datasets`` folder, or cached Hugging Face dataset) into ``store``.

    Parameters
    ----------
    store
        The destination.
    path
        JSONL, JSON, Parquet, CSV/TSV, an Inspect ``.eval`` log, a ``datasets`` ``save_to_disk``
        folder, or ``hf://org/name[:split]`` for a dataset in the local Hugging Face cache (read
        offline; see :mod:`workbench.store.importers.hf`).
    source
        Name recorded as each trajectory's ``source`` and part of the de-duplication key; defaults
        to ``<folder>/<file name>`` (``hf:org/name`` for a cached dataset). Importing the same
        source twice adds nothing new.
    mapping
        ``{target: source field}`` overrides of the detected fields (see
        :mod:`workbench.store.importers.layout`); given, it turns named-layout recognition off.
    format
        Override the format guessed from the file name.
    layout
        Force a layout by name (see ``LAYOUT_NAMES`` in
        :mod:`workbench.store.importers.registry`) instead of recognising one per record.
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
        Counts, the layout recognised, and the records that were rejected (the valid ones are
        stored).

    Raises
    ------
    ImportFormatError
        When the file cannot be read at all, no field holds a response, the layout name is
        unknown, a ``mapping`` target looks like a misspelt target (``modle``: write
        ``meta.modle`` for a metadata key), or a Hugging Face dataset is not in the local cache.
    StoreError
        When the store fails ``PRAGMA quick_check`` (checked before anything is written).
    """
    start = time.perf_counter()
    forced = None if layout is None else get_layout(layout)
    if mapping:
        check_mapping(mapping)
    store.check(raise_error=True)  # never write into a damaged file
    if is_hf_spec(path):
        files, default = resolve_hf(str(path))
        shown = str(path)
    else:
        files, default, shown = [(Path(path), None)], default_source(Path(path)), str(path)
    first = files[0][0]
    fmt = format or (detect_format(first) if first.exists() else "")
    report = ImportReport(path=shown, source=source or default, format=fmt)
    state = _State(
        store, report, mapping, forced, layout, batch_size, progress,
        Context(report.source, first, model, list(tags or [])),
    )  # fmt: skip
    lookup = _join_lookup(join, on)
    for file, split in files:
        state.ctx.path = file
        prefix = f"{file.name} " if len(files) > 1 else ""
        try:
            for rec in read_records(file, format=format):
                if prefix:
                    rec.location = prefix + rec.location
                if split is not None and rec.data is not None:
                    rec.data.setdefault("split", split)
                if lookup is not None and rec.data is not None:
                    extra = lookup.get(_join_key(rec.data.get(on)))  # type: ignore[arg-type]
                    if extra is None:
                        report.unjoined += 1
                    else:
                        rec.data = {**extra, **rec.data}
                state.take(rec)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"{file.name} is not UTF-8 text ({exc.reason}): convert it first"
            ) from exc
        state.finish_streams()
    state.flush()
    report.seconds = time.perf_counter() - start
    return report


class _State:
    """The running import: layouts seen, the batch being filled, streams being reassembled."""

    def __init__(
        self,
        store: Store,
        report: ImportReport,
        mapping: Mapping[str, str] | None,
        forced: NamedLayout | None,
        forced_name: str | None,
        batch_size: int,
        progress: Callable[[ImportReport], None] | None,
        ctx: Context,
    ) -> None:
        self.store, self.report, self.mapping = store, report, mapping
        self.forced, self.forced_name = forced, forced_name
        self.batch_size, self.progress, self.ctx = batch_size, progress, ctx
        self.layouts: dict[frozenset[str], Layout] = {}
        self.batch: list[Converted] = []
        self.formats: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.per_layout: Counter[str] = Counter()
        self.chunks = ChunkAssembler()

    def take(self, rec: RawRecord) -> None:
        """Convert one record (or hold a streaming chunk) and add it to the batch."""
        report = self.report
        report.read += 1
        if rec.data is None:
            report.errors.append(ImportIssue(rec.location, rec.error or "unreadable"))
            return
        try:
            name = self._name(rec.data)
            if name == "chat_completion_chunks":
                self._count(name)
                self.chunks.add(rec.location, rec.data)
                return
            if name in LAYOUTS:
                self._count(name)
                converted = _named(LAYOUTS[name], rec.data, self.ctx)
            else:
                generic = _layout_for(rec, self.layouts, self.mapping, report)
                if generic is None:
                    return
                self._count(generic.kind)
                if self.forced_name is not None and generic.kind != self.forced_name:
                    raise RecordError(
                        f"the fields read as layout {generic.kind!r}, not {self.forced_name!r}"
                    )
                converted = convert_record(
                    rec.data, generic, source=self.ctx.source, model=self.ctx.model,
                    extra_tags=self.ctx.tags,
                )  # fmt: skip
        except (RecordError, ValidationError, RecursionError, OverflowError) as exc:
            report.errors.append(ImportIssue(rec.location, record_problem(exc)))
            return
        self._add(converted)

    def _name(self, record: dict[str, Any]) -> str:
        if self.forced is not None:
            return self.forced.name
        if self.forced_name is not None or self.mapping:
            return "generic"
        return recognise(record) or "generic"

    def _count(self, name: str) -> None:
        self.per_layout[name] += 1
        self.report.layouts = dict(self.per_layout)

    def _add(self, converted: Converted) -> None:
        self.batch.append(converted)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def finish_streams(self) -> None:
        """Convert the streams reassembled from chunk records."""
        for location, response in self.chunks.finish():
            try:
                self._add(convert_stream(response, self.ctx))
            except (RecordError, ValidationError, RecursionError, OverflowError) as exc:
                self.report.errors.append(ImportIssue(location, record_problem(exc)))

    def flush(self) -> None:
        """Store the batch and update the report."""
        _store_batch(self.store, self.batch, self.report, self.formats, self.models)
        self.batch.clear()
        report = self.report
        report.think_formats = dict(self.formats)
        report.models = dict(self.models)
        if self.progress is not None:
            self.progress(report)


def record_problem(exc: Exception) -> str:
    """Return the reason a record is rejected, for an error raised while converting it."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to import: flatten the record (at most 64 levels are kept)"
    if isinstance(exc, OverflowError):
        return f"a number is beyond float range ({exc}): store it as text"
    return str(exc)


def _named(layout: NamedLayout, record: dict[str, Any], ctx: Context) -> Converted:
    """Convert with a named layout; any shape error in the record becomes a :class:`RecordError`."""
    try:
        return layout.convert(record, ctx)
    except RecordError:
        raise
    except (ImportFormatError, TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        raise RecordError(
            f"not a valid {layout.name} record ({type(exc).__name__}: {exc})"
        ) from exc


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


def _store_batch(
    store: Store,
    batch: list[Converted],
    report: ImportReport,
    formats: Counter[str],
    models: Counter[str],
) -> None:
    if not batch:
        return
    trajectories, keys = [], []
    for c in batch:
        for t, k in zip(c.trajectories, c.dedup_keys, strict=True):
            if c.keep_ids and t.id in store:  # an exported trajectory that is already here
                report.duplicates += 1
                continue
            trajectories.append(t)
            keys.append(k)
    result = store.add_trajectories(trajectories, dedup_keys=keys)
    report.imported += len(result.inserted)
    report.duplicates += len(result.duplicates)
    inserted = set(result.inserted)
    formats.update(str(t.think_format) for t in trajectories if t.id in inserted)
    models.update(t.model or "-" for t in trajectories if t.id in inserted)
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
