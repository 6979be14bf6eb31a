"""Which field of a record is the prompt, the response, the thinking, …: detection and overrides.

Detection looks at a record's keys (case-insensitively) for the common layouts of reasoning-trace
datasets. Explicit ``--map target=source`` overrides win; ``--map target=`` (empty source) turns a
target off. ``--map meta.NAME=source`` (or ``metadata.NAME``) stores a field as metadata ``NAME``.
A target that is not one of :data:`TARGETS` is a metadata key too (``--map difficulty=level``
stores column ``level`` as metadata ``difficulty``), unless it is one or two letters away from a
target (``modle``, ``Model``, ``grader``): that is taken for a typo and refused with "did you
mean". Every key the layout does not use is kept in the trajectory's metadata, so nothing in the
source is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workbench.errors import ImportFormatError

__all__ = ["CANDIDATES", "TARGETS", "Layout", "check_mapping", "detect_layout", "parse_mapping"]

CANDIDATES: dict[str, tuple[str, ...]] = {
    "messages": ("messages", "conversations", "conversation", "chat"),
    "prompt": ("prompt", "question", "problem", "instruction", "input", "query"),
    "system": ("system", "system_prompt"),
    "response": (
        "response",
        "completion",
        "output",
        "generation",
        "full_model_response",
        "model_response",
        "model_output",
        "raw_response",
    ),
    "thinking": (
        "reasoning_content",
        "reasoning",
        "thinking",
        "thinking_process",
        "thoughts",
        "thought",
        "think",
    ),
    "answer": ("answer", "final_answer", "content"),
    "chosen": ("chosen",),
    "rejected": ("rejected",),
    "model": ("model", "model_name", "model_id", "generator"),
    "gold": (
        "gold",
        "gold_answer",
        "correct_answer",
        "expected_answer",
        "reference_answer",
        "ground_truth",
    ),
    "id": ("id", "uid", "sample_id", "trace_id", "example_id", "key"),
    "grade": ("grade", "is_correct", "correct"),
    "tags": ("tags",),
    "status": ("status",),
}
"""Column names recognised for each target, in order of preference (matched case-insensitively)."""

TARGETS: tuple[str, ...] = tuple(CANDIDATES)
"""Targets a source field can be mapped to; any other target name is a metadata key."""

META_PREFIXES: tuple[str, ...] = ("meta.", "metadata.")
"""A ``--map`` target starting with one of these is always a metadata key."""


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _near_target(name: str) -> str | None:
    """Return the target ``name`` is probably a typo of, or ``None``."""
    low = name.lower()
    best = min(TARGETS, key=lambda t: (_distance(low, t), t))
    allowed = 0 if len(best) <= 2 else 1 if len(best) <= 4 else 2
    if low == best or _distance(low, best) <= allowed:
        return best
    return None


def split_target(target: str, source: str = "FIELD") -> tuple[str, bool]:
    """Return ``(name, is_metadata)`` for a ``--map`` target.

    Raises
    ------
    ImportFormatError
        When the target looks like a misspelt target (``did you mean``), or ``meta.`` names nothing.
    """
    for prefix in META_PREFIXES:
        if target.startswith(prefix):
            name = target.removeprefix(prefix)
            if not name:
                raise ImportFormatError(
                    f"--map {target}={source}: name the metadata key after {prefix!r}, "
                    f"e.g. --map {prefix}difficulty={source}"
                )
            return name, True
    if target in TARGETS:
        return target, False
    near = _near_target(target)
    if near is not None:
        raise ImportFormatError(
            f"--map {target}={source}: {target!r} is not a target; did you mean {near}? "
            f"(--map {near}={source}; to store the field as metadata {target!r}, write "
            f"--map meta.{target}={source})"
        )
    return target, True


def check_mapping(mapping: Mapping[str, str]) -> None:
    """Refuse a mapping with a misspelt target before anything is read (see :func:`split_target`)."""
    for target, source in mapping.items():
        is_meta = split_target(target, source or "FIELD")[1]
        if is_meta and not source:
            raise ImportFormatError(
                f"--map {target}=: only built-in targets can be turned off ({', '.join(TARGETS)})"
            )


@dataclass(slots=True)
class Layout:
    """Which source key feeds each target.

    Attributes
    ----------
    fields
        ``target -> source key`` for the targets found.
    metadata
        ``metadata key -> source key`` for explicit metadata mappings.
    disabled
        Targets turned off with ``--map target=``.
    """

    fields: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    explicit: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        """``"preference"``, ``"messages"`` or ``"columns"``."""
        if "chosen" in self.fields and "rejected" in self.fields:
            return "preference"
        if "messages" in self.fields and "response" not in self.fields:
            return "messages"
        return "columns"

    def consumed(self) -> set[str]:
        """Source keys used by the layout (the rest go to metadata under their own names)."""
        return set(self.fields.values()) | set(self.metadata.values())

    def describe(self) -> dict[str, str]:
        """Return the mapping as ``{target: source}``, metadata targets prefixed ``metadata.``."""
        out = dict(self.fields)
        out.update({f"metadata.{k}": v for k, v in self.metadata.items()})
        return out


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """Parse ``["target=source", ...]`` (the CLI's ``--map`` values) into a dict.

    Raises
    ------
    ImportFormatError
        When an item has no ``=``, or its target looks like a misspelt target.
    """
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ImportFormatError(
                f"--map {item!r}: expected target=source, e.g. --map response=output"
            )
        target, source = item.split("=", 1)
        target = target.strip()
        if not target:
            raise ImportFormatError(f"--map {item!r}: the target before '=' is empty")
        out[target] = source.strip()
    check_mapping(out)
    return out


def detect_layout(keys: Iterable[str], overrides: Mapping[str, str] | None = None) -> Layout:
    """Decide which keys feed which targets.

    Parameters
    ----------
    keys
        The keys of the records (of the first record, or their union).
    overrides
        ``{target: source}`` from ``--map``; an empty source disables the target; a target
        written ``meta.NAME`` (or ``metadata.NAME``), or not in :data:`TARGETS` and not a near
        miss of one, becomes a metadata key.

    Raises
    ------
    ImportFormatError
        When an override names a key the records do not have, or nothing holds a response.
    """
    key_list = list(keys)
    lower = {k.lower(): k for k in reversed(key_list)}
    layout = Layout()
    for target, source in (overrides or {}).items():
        name, is_meta = split_target(target, source or "FIELD")
        if not source:
            if is_meta:
                raise ImportFormatError(f"--map {target}=: only built-in targets can be turned off")
            layout.disabled.add(name)
            continue
        if source not in key_list:
            raise ImportFormatError(
                f"--map {target}={source}: the records have no field {source!r}; "
                f"fields are {sorted(key_list)}"
            )
        if is_meta:
            layout.metadata[name] = source
        else:
            layout.fields[name] = source
            layout.explicit.add(name)
    taken = layout.consumed()
    for target, names in CANDIDATES.items():
        if target in layout.fields or target in layout.disabled:
            continue
        for name in names:
            key = lower.get(name)
            if key is not None and key not in taken:
                layout.fields[target] = key
                taken.add(key)
                break
    _settle(layout)
    if not ({"response", "thinking", "answer", "messages"} & set(layout.fields)) and not (
        "chosen" in layout.fields and "rejected" in layout.fields
    ):
        raise ImportFormatError(
            "no field holds a model response (looked for "
            f"{', '.join(CANDIDATES['response'] + CANDIDATES['answer'] + CANDIDATES['thinking'])}, "
            f"or chat messages); fields are {sorted(key_list)}: "
            "name one with --map response=FIELD"
        )
    return layout


def _settle(layout: Layout) -> None:
    """Drop detected targets that another detected target makes ambiguous."""
    f = {k: v for k, v in layout.fields.items() if k not in layout.explicit}
    # With a raw response, a column called "answer" is an extracted answer: keep it as metadata.
    if "response" in layout.fields and "answer" in f:
        del f["answer"]
    # A "content" column only counts as the answer next to a reasoning column (OpenAI-style rows).
    if f.get("answer", "").lower() == "content" and "thinking" not in layout.fields:
        del f["answer"]
    # Preference data: chosen and rejected are the responses.
    if "chosen" in layout.fields and "rejected" in layout.fields:
        for target in ("response", "answer", "thinking"):
            f.pop(target, None)
    layout.fields = {k: v for k, v in layout.fields.items() if k in layout.explicit or k in f}
