"""Find a Hugging Face dataset in the local caches, offline: ``hf://org/name[:split]``.

Nothing is downloaded. Looked up, in order:

1. a local folder of that name written by ``datasets``' ``save_to_disk``;
2. the ``datasets`` cache (``$HF_DATASETS_CACHE``, else ``$HF_HOME/datasets``, else
   ``~/.cache/huggingface/datasets``): ``org___name/<config>/<version>/<hash>/*-<split>*.arrow``,
   the ``default`` configuration first, the newest hash;
3. the hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``):
   ``datasets--org--name/snapshots/<revision>/`` data files (Parquet, JSONL, JSON, CSV), the
   revision that ``refs/main`` names (else the newest).

The split of a file is read from its name (``train-00000-of-00001.parquet``, ``test.jsonl``) or
its folder (``data/train/...``); ``:split`` keeps only that split.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbench.errors import ImportFormatError

__all__ = ["cache_roots", "is_hf_spec", "parse_hf_spec", "resolve_hf"]

_DATA_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json", ".json.gz", ".csv", ".tsv", ".arrow")
_SPLIT_WORDS = ("train", "test", "validation", "valid", "dev", "eval")


def is_hf_spec(path: object) -> bool:
    """Return whether ``path`` is an ``hf://`` dataset reference."""
    return isinstance(path, str) and path.startswith("hf://")


def parse_hf_spec(spec: str) -> tuple[str, str | None]:
    """Split ``hf://org/name[:split]`` (or ``org/name[:split]``) into the name and the split.

    Raises
    ------
    ImportFormatError
        When the name is not ``org/name`` (or ``name``).
    """
    text = spec.removeprefix("hf://").strip("/")
    name, _, split = text.partition(":")
    if not name or not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", name):
        raise ImportFormatError(
            f"{spec!r}: expected hf://org/name or hf://org/name:split, e.g. hf://open-r1/OpenR1-Math-220k:train"
        )
    return name, split or None


def cache_roots() -> tuple[Path, Path]:
    """Return ``(datasets cache, hub cache)`` as the environment sets them."""
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    datasets_root = Path(os.environ.get("HF_DATASETS_CACHE") or home / "datasets")
    hub_root = Path(
        os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or home / "hub"
    )
    return datasets_root, hub_root


def _split_of(rel: str) -> str | None:
    parts = rel.replace("\\", "/").split("/")
    for folder in parts[:-1]:
        if folder in _SPLIT_WORDS:
            return folder
    stem = parts[-1]
    for suffix in _DATA_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", stem)
    m = re.search(r"(?:^|[-_.])(" + "|".join(_SPLIT_WORDS) + r")$", stem)
    if m:
        return m.group(1)
    return stem if "-" not in stem and "/" not in stem else None


def _arrow_split(file_name: str) -> str | None:
    """``<builder>-<split>[-NNNNN-of-NNNNN].arrow`` -> the split."""
    m = re.search(r"-(?P<split>[^-]+?)(?:-\d{5}-of-\d{5})?\.arrow$", file_name)
    return m.group("split") if m else None


def _newest(paths: list[Path]) -> Path | None:
    return max(paths, key=lambda p: p.stat().st_mtime, default=None)


def _datasets_cache(root: Path, name: str) -> list[Path]:
    base = root / name.replace("/", "___")
    if not base.is_dir():
        return []
    configs = sorted(p for p in base.iterdir() if p.is_dir())
    configs.sort(key=lambda p: p.name != "default")
    for config in configs:
        hashes = [h for v in config.iterdir() if v.is_dir() for h in v.iterdir() if h.is_dir()]
        newest = _newest([h for h in hashes if any(h.glob("*.arrow"))])
        if newest is not None:
            return sorted(newest.glob("*.arrow"))
    return []


def _hub_cache(root: Path, name: str) -> tuple[Path | None, list[Path]]:
    base = root / f"datasets--{name.replace('/', '--')}"
    snapshots = base / "snapshots"
    if not snapshots.is_dir():
        return None, []
    ref = base / "refs" / "main"
    snap = snapshots / ref.read_text().strip() if ref.is_file() else None
    if snap is None or not snap.is_dir():
        snap = _newest([p for p in snapshots.iterdir() if p.is_dir()])
    if snap is None:
        return None, []
    files = [
        p
        for p in sorted(snap.rglob("*"))
        if p.is_file()
        and p.name.lower().endswith(_DATA_SUFFIXES)
        and not p.name.startswith(".")
        and p.name not in ("dataset_info.json", "dataset_infos.json", "state.json")
    ]
    return snap, files


def resolve_hf(spec: str) -> tuple[list[tuple[Path, str | None]], str]:
    """Return the local files of ``spec`` with their splits, and the default source name.

    Raises
    ------
    ImportFormatError
        When the dataset (or the split) is not in any local cache.
    """
    name, split = parse_hf_spec(spec)
    source = f"hf:{name}" if split is None else f"hf:{name}:{split}"
    local = Path(name)
    if local.is_dir():
        return [(local, None)], source
    datasets_root, hub_root = cache_roots()
    found: list[tuple[Path, str | None]] = []
    arrow = _datasets_cache(datasets_root, name)
    if arrow:
        found = [(p, _arrow_split(p.name)) for p in arrow]
    else:
        snap, files = _hub_cache(hub_root, name)
        if snap is not None:
            found = [(p, _split_of(str(p.relative_to(snap)))) for p in files]
    if not found:
        raise ImportFormatError(
            f"hf://{name} is not in the local cache (looked in {datasets_root} and {hub_root}); "
            "workbench reads Hugging Face datasets offline. Download it where there is network "
            f"access (`huggingface-cli download --repo-type dataset {name}`, or "
            f"`datasets.load_dataset({name!r}).save_to_disk('DIR')` and `workbench import DIR`), "
            "or point HF_HOME / HF_DATASETS_CACHE / HF_HUB_CACHE at the cache that holds it"
        )
    if split is not None:
        kept: list[tuple[Path, str | None]] = [(p, s) for p, s in found if s == split]
        if not kept:
            splits = sorted({s for _, s in found if s})
            raise ImportFormatError(
                f"hf://{name} has no split {split!r} in the local cache; cached splits: "
                f"{', '.join(splits) or 'none named'}"
            )
        found = kept
    return found, source
