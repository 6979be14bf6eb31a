"""Read Inspect AI logs without Inspect: the ``.eval`` zip and the ``.json`` log.

An ``.eval`` file is a zip holding ``header.json`` (the ``eval`` spec: task, model, run id, ...;
``_journal/start.json`` while a run is in progress) and one ``samples/<id>_epoch_<n>.json`` per
sample. A ``.json`` log is one object with ``eval`` and ``samples``. Each sample is yielded with
the header's task, model and ids attached under
:data:`~workbench.store.importers.layouts_evals.INSPECT_HEADER`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.errors import ImportFormatError

from .layouts_evals import INSPECT_HEADER
from .readers import RawRecord

__all__ = ["inspect_header", "is_inspect_log", "read_inspect_eval", "read_inspect_json"]

_SAMPLE = re.compile(r"^samples/(?P<id>.+)_epoch_(?P<epoch>\d+)\.json$")


def inspect_header(eval_spec: Any) -> dict[str, Any]:
    """Return the parts of an Inspect ``eval`` spec kept on each trajectory."""
    if not isinstance(eval_spec, dict):
        return {}
    keep = ("task", "task_id", "run_id", "eval_id", "model", "created")
    out = {k: eval_spec[k] for k in keep if eval_spec.get(k) is not None}
    dataset = eval_spec.get("dataset")
    if isinstance(dataset, dict) and dataset.get("name"):
        out["dataset"] = dataset["name"]
    return out


def is_inspect_log(value: Any) -> bool:
    """Return whether a parsed JSON document is an Inspect log (``eval`` spec and samples)."""
    return isinstance(value, dict) and isinstance(value.get("eval"), dict) and "samples" in value


def read_inspect_json(value: dict[str, Any]) -> Iterator[RawRecord]:
    """Yield the samples of a parsed ``.json`` Inspect log."""
    header = inspect_header(value.get("eval"))
    for n, sample in enumerate(value.get("samples") or []):
        where = f"samples[{n}]"
        if isinstance(sample, dict):
            yield RawRecord(where, {**sample, INSPECT_HEADER: header})
        else:
            yield RawRecord(where, None, f"expected a sample object, got {type(sample).__name__}")


def _sort_key(name: str) -> tuple[int, Any, int]:
    m = _SAMPLE.match(name)
    assert m is not None
    sid = m.group("id")
    return (
        (0, int(sid), int(m.group("epoch"))) if sid.isdigit() else (1, sid, int(m.group("epoch")))
    )


def read_inspect_eval(path: Path) -> Iterator[RawRecord]:
    """Yield the samples of an ``.eval`` zip log, in sample-id then epoch order."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFormatError(f"{path.name}: not a readable Inspect .eval log ({exc})") from exc
    with archive:
        names = set(archive.namelist())
        header: dict[str, Any] = {}
        for name in ("header.json", "_journal/start.json"):
            if name in names:
                try:
                    header = inspect_header(json.loads(archive.read(name)).get("eval"))
                except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
                    raise ImportFormatError(
                        f"{path.name}: {name} is not valid JSON ({exc})"
                    ) from exc
                break
        samples = sorted((n for n in names if _SAMPLE.match(n)), key=_sort_key)
        if not header and not samples:
            raise ImportFormatError(
                f"{path.name}: a zip without header.json or samples/ is not an Inspect .eval log"
            )
        for name in samples:
            try:
                value = json.loads(archive.read(name).decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield RawRecord(name, None, f"invalid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                yield RawRecord(name, None, f"invalid JSON ({exc.msg} at line {exc.lineno})")
                continue
            if not isinstance(value, dict):
                yield RawRecord(name, None, f"expected a sample object, got {type(value).__name__}")
                continue
            yield RawRecord(name, {**value, INSPECT_HEADER: header})
