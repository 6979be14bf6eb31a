"""Read records from trace files.

JSONL, JSON, Parquet, CSV/TSV, Arrow, ``datasets`` directories and Inspect AI ``.eval`` logs. Each reader yields :class:`RawRecord` items, one per record, with a human location (``"line 12"``,
``"row 5"``) so that a malformed record can be reported and the rest kept. Only a file that cannot be
read at all raises :class:`~workbench.errors.ImportFormatError`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench._install import install_hint
from workbench.errors import ImportFormatError

from .readers_base import GZIP_ERRORS, RawRecord, gzip_problem, not_gzip, open_bytes
from .readers_csv import read_csv

__all__ = ["FORMATS", "RawRecord", "detect_format", "read_records"]

FORMATS: tuple[str, ...] = ("jsonl", "json", "parquet", "csv", "tsv", "datasets", "eval", "arrow")

_TOO_DEEP = "nested deeper than the JSON reader can follow (about 1000 levels): flatten the record"


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` from its suffix (or, for a folder, its ``datasets`` files)."""
    if path.is_dir():
        markers = ("dataset_info.json", "state.json", "dataset_dict.json")
        if any((path / m).exists() for m in markers):
            return "datasets"
        raise ImportFormatError(
            f"{path} is a folder but not a `datasets` save_to_disk folder "
            "(no dataset_info.json, state.json or dataset_dict.json): pass a file instead"
        )
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    by_suffix = {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".csv": "csv",
        ".tsv": "tsv",
        ".eval": "eval",
        ".arrow": "arrow",
    }
    if last in by_suffix:
        return by_suffix[last]
    raise ImportFormatError(
        f"cannot tell the format of {path.name!r} from its name: pass --format "
        f"(one of {', '.join(FORMATS)})"
    )


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    """One JSON object per line; a line that is not UTF-8 or not JSON is reported, not fatal.

    Server-sent-event logs are accepted too: a ``data: `` prefix is removed, and ``data: [DONE]``,
    ``event:`` and comment lines are skipped. A truncated ``.gz`` file ends with one issue at the
    line where its data ends; the lines before it are kept.
    """
    lineno = 0
    with open_bytes(path) as fh:
        try:
            for lineno, blob in enumerate(fh, start=1):
                record = _jsonl_line(blob, lineno)
                if record is not None:
                    yield record
        except GZIP_ERRORS as exc:
            if lineno == 0 and isinstance(exc, gzip.BadGzipFile):
                raise ImportFormatError(not_gzip(path, exc)) from exc
            yield RawRecord(f"line {lineno + 1}", None, gzip_problem(exc))


def _jsonl_line(blob: bytes, lineno: int) -> RawRecord | None:
    """Read one line of a JSONL file: a record, the reason it is bad, or ``None`` (nothing)."""
    where = f"line {lineno}"
    try:
        line = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(
            where, None, f"invalid UTF-8 ({exc.reason} at byte {exc.start}): re-encode the line"
        )
    line = line.strip()
    if lineno == 1:
        line = line.removeprefix("\ufeff")
    if line.startswith("data:"):
        line = line[5:].strip()
        if line == "[DONE]":
            return None
    elif line.startswith(("event:", ":", "id:", "retry:")):
        return None
    if not line:
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return RawRecord(where, None, f"invalid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return RawRecord(where, None, _TOO_DEEP)
    except ValueError as exc:  # an integer of more than 4300 digits
        return RawRecord(where, None, f"invalid JSON ({str(exc).split(';')[0]})")
    if not isinstance(value, dict):
        return RawRecord(where, None, f"expected a JSON object, got {type(value).__name__}")
    return RawRecord(where, value)


def _read_text(path: Path) -> str:
    """Read a whole file as UTF-8, refusing it (nothing is imported) with the line of a bad byte."""
    try:
        with open_bytes(path) as fh:
            data = fh.read()
    except GZIP_ERRORS as exc:
        if isinstance(exc, gzip.BadGzipFile):
            raise ImportFormatError(not_gzip(path, exc)) from exc
        raise ImportFormatError(
            f"{path.name}: the .gz file is truncated or damaged ({exc}); the file is one JSON "
            "document, so nothing was imported: get an intact copy"
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFormatError(
            f"{path.name} line {line}: invalid UTF-8 ({exc.reason}); the file is one JSON "
            "document, so nothing was imported: convert it to UTF-8"
        ) from exc


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _read_json(path: Path) -> Iterator[RawRecord]:
    text = _read_text(path)
    i = _skip_ws(text, 0)
    if i >= len(text):
        return
    if text[i] == "{":
        try:
            value = json.loads(text)
        except RecursionError:
            raise ImportFormatError(f"{path.name}: {_TOO_DEEP}") from None
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":  # one object per line, saved as .json
                yield from _read_jsonl(path)
                return
            raise ImportFormatError(
                f"{path.name}: invalid JSON at line {exc.lineno} ({exc.msg}); fix the file"
            ) from exc
        from .readers_inspect import is_inspect_log, read_inspect_json

        if is_inspect_log(value):
            yield from read_inspect_json(value)
            return
        from .registry import recognise

        if recognise(value) is not None:  # one response object, e.g. a saved chat completion
            yield RawRecord("record 1", value)
            return
        lists = [
            k for k, v in value.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        ]
        if len(lists) == 1:
            for n, item in enumerate(value[lists[0]], start=1):
                where = f"{lists[0]}[{n - 1}]"
                if isinstance(item, dict):
                    yield RawRecord(where, item)
                else:
                    yield RawRecord(
                        where, None, f"expected a JSON object, got {type(item).__name__}"
                    )
            return
        yield RawRecord("record 1", value)
        return
    if text[i] != "[":
        raise ImportFormatError(f"{path.name}: expected a JSON array or object at the top level")
    decoder = json.JSONDecoder()
    i += 1
    line, counted_to = 1, 0
    while True:
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == "]":
            return
        line += text.count("\n", counted_to, i)
        counted_to = i
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            yield RawRecord(
                f"line {exc.lineno}",
                None,
                f"invalid JSON ({exc.msg}); the records after it cannot be read",
            )
            return
        except (RecursionError, ValueError) as exc:
            reason = _TOO_DEEP if isinstance(exc, RecursionError) else str(exc).split(";")[0]
            yield RawRecord(f"line {line}", None, f"{reason}; the records after it cannot be read")
            return
        if isinstance(value, dict):
            yield RawRecord(f"line {line}", value)
        else:
            yield RawRecord(
                f"line {line}", None, f"expected a JSON object, got {type(value).__name__}"
            )
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i += 1
        elif i < len(text) and text[i] == "]":
            return
        else:
            line += text.count("\n", counted_to, i)
            yield RawRecord(f"line {line}", None, "expected ',' or ']' between records")
            return


def _read_parquet(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise ImportFormatError(f"{path.name}: not a readable Parquet file ({exc})") from exc
    n = 0
    batches = pf.iter_batches(batch_size=2048)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # damaged pages: keep the rows before them
            yield RawRecord(
                f"row {n + 1}",
                None,
                f"unreadable Parquet data from here on ({type(exc).__name__}: {exc}); the rows "
                "before it are kept: get an intact copy of the file",
            )
            return
        for item in batch.to_pylist():
            n += 1
            yield RawRecord(f"row {n}", item)


def _read_arrow(path: Path) -> Iterator[RawRecord]:
    """Read an Arrow IPC file or stream (the ``datasets`` cache writes streams)."""
    import pyarrow as pa

    source = pa.memory_map(str(path))
    try:
        reader: Any = pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        try:
            reader = pa.ipc.open_file(source)
        except pa.ArrowInvalid as exc:
            raise ImportFormatError(f"{path.name}: not a readable Arrow file ({exc})") from exc
        batches: Any = (reader.get_batch(i) for i in range(reader.num_record_batches))
    else:
        batches = reader
    n = 0
    for batch in batches:
        for item in batch.to_pylist():
            n += 1
            yield RawRecord(f"row {n}", item)


def _read_datasets(path: Path) -> Iterator[RawRecord]:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise ImportFormatError(
            f"reading a `datasets` folder needs the datasets package: {install_hint('datasets')}"
        ) from exc
    loaded = datasets.load_from_disk(str(path))
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    for split, ds in splits:
        for n, item in enumerate(ds, start=1):
            where = f"row {n}" if split is None else f"{split} row {n}"
            record = dict(item)
            if split is not None and "split" not in record:
                record["split"] = split
            yield RawRecord(where, record)


def read_records(path: str | Path, *, format: str | None = None) -> Iterator[RawRecord]:
    """Yield the records of a source file or folder.

    Parameters
    ----------
    path
        A ``.jsonl``/``.ndjson``, ``.json``, ``.parquet``, ``.csv``, ``.tsv`` file (optionally
        gzip-compressed, ``.gz``), an Inspect AI ``.eval`` log, or a folder written by
        ``datasets``' ``save_to_disk``.
    format
        Override the format guessed from the name; one of :data:`FORMATS`.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFormatError(f"{p} does not exist: check the path")
    if format is not None and format not in FORMATS:
        raise ImportFormatError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    fmt = format or detect_format(p)
    if fmt == "jsonl":
        yield from _read_jsonl(p)
    elif fmt == "json":
        yield from _read_json(p)
    elif fmt == "csv":
        yield from read_csv(p, ",")
    elif fmt == "tsv":
        yield from read_csv(p, "\t")
    elif fmt == "parquet":
        yield from _read_parquet(p)
    elif fmt == "arrow":
        yield from _read_arrow(p)
    elif fmt == "eval":
        from .readers_inspect import read_inspect_eval

        yield from read_inspect_eval(p)
    else:
        yield from _read_datasets(p)
