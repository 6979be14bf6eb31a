"""Per-token arrays of a generation (:class:`TokenArrays`, re-exported by :mod:`workbench.trajectory`).

Besides the sampled tokens' ids, offsets, logprobs and entropies, a generation made with
``logprobs=k`` records each step's top-``k`` alternatives: their ids (``-1`` where a server sends
strings only), their logprobs and their texts (a server's token strings, or the decoded text of
each id), so a trace can be branched from any token with a token the model did not pick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench._validate import reject_unknown
from workbench.errors import ValidationError

__all__ = ["Alternative", "TokenArrays"]

_TOKEN_FIELDS: dict[str, tuple[type, tuple[int, ...]]] = {
    "ids": (np.int32, ()),
    "offsets": (np.int32, (2,)),
    "logprobs": (np.float32, ()),
    "entropies": (np.float32, ()),
}
_TOP_FIELDS = ("top_ids", "top_logprobs", "top_texts")

Alternative = tuple[str, float, int]
"""One recorded alternative of a step: ``(text, logprob, token id)`` (id ``-1`` when unknown)."""


@dataclass(slots=True, kw_only=True)
class TokenArrays:
    """Compact per-token arrays of a generation.

    Attributes
    ----------
    ids
        Token ids, ``int32[n]``; ``-1`` where the backend does not know a token's id (an
        OpenAI-compatible server sends token strings, not ids).
    offsets
        Character span of each token in :attr:`Trajectory.raw`, ``int32[n, 2]`` (optional).
    logprobs
        Log-probability of each sampled token, ``float32[n]`` (optional).
    entropies
        Entropy of the next-token distribution at each step, ``float32[n]`` (optional; a truncated
        estimate when the backend only returns top-k log-probabilities).
    top_ids, top_logprobs, top_texts
        The top-``k`` alternatives of each step, recorded when the generation asked for
        ``logprobs=k``: ids ``int32[n, k]`` (``-1`` unknown or padding), logprobs
        ``float32[n, k]`` (NaN for padding) and texts (``n`` lists of ``k`` strings, ``""`` for
        padding). All three or none.
    """

    ids: np.ndarray
    offsets: np.ndarray | None = None
    logprobs: np.ndarray | None = None
    entropies: np.ndarray | None = None
    top_ids: np.ndarray | None = None
    top_logprobs: np.ndarray | None = None
    top_texts: list[list[str]] | None = None

    def __post_init__(self) -> None:
        for name, (dtype, tail) in _TOKEN_FIELDS.items():
            value = getattr(self, name)
            if value is None:
                continue
            arr: np.ndarray = np.asarray(value, dtype=dtype)
            if arr.size == 0:
                arr = arr.reshape((0, *tail))
            setattr(self, name, arr)
        for name, dtype in (("top_ids", np.int32), ("top_logprobs", np.float32)):
            value = getattr(self, name)
            if value is not None:
                arr = np.asarray(value, dtype=dtype)
                setattr(self, name, arr.reshape(len(self.ids), -1) if arr.size == 0 else arr)
        if self.top_texts is not None:
            self.top_texts = [list(row) for row in self.top_texts]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def top_k(self) -> int:
        """How many alternatives each step recorded (``0``: none)."""
        return 0 if self.top_ids is None or self.top_ids.ndim != 2 else int(self.top_ids.shape[1])

    def alternatives(self, i: int) -> list[Alternative]:
        """Return token ``i``'s recorded alternatives ``(text, logprob, id)``, most likely first.

        Raises
        ------
        ValidationError
            When ``i`` is not a token index. A trajectory without recorded alternatives gives
            ``[]``.
        """
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < n:
            raise ValidationError("TokenArrays.alternatives", f"token {i!r} is not in 0..{n - 1}")
        if self.top_ids is None or self.top_logprobs is None or self.top_texts is None:
            return []
        out: list[Alternative] = []
        for text, lp, tid in zip(
            self.top_texts[i], self.top_logprobs[i].tolist(), self.top_ids[i].tolist(), strict=True
        ):
            if math.isnan(lp) and tid < 0 and not text:
                continue  # padding
            out.append((text, float(lp), int(tid)))
        return out

    def validate(self, owner: str = "TokenArrays", *, text_length: int | None = None) -> None:
        """Raise :class:`ValidationError` if shapes disagree or offsets fall outside the text."""
        n = len(self)
        for name, (_, tail) in _TOKEN_FIELDS.items():
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.shape != (n, *tail):
                raise ValidationError(
                    f"{owner}.{name}", f"expected shape {(n, *tail)}, got {tuple(arr.shape)}"
                )
        self._validate_top(owner)
        if self.offsets is not None and n and text_length is not None:
            lo, hi = int(self.offsets.min()), int(self.offsets.max())
            if lo < 0 or hi > text_length or bool((self.offsets[:, 0] > self.offsets[:, 1]).any()):
                raise ValidationError(
                    f"{owner}.offsets", f"token offsets must lie within the text (0..{text_length})"
                )

    def _validate_top(self, owner: str) -> None:
        present = [getattr(self, name) is not None for name in _TOP_FIELDS]
        if not any(present):
            return
        if not all(present):
            raise ValidationError(
                f"{owner}.top_ids", "give top_ids, top_logprobs and top_texts together"
            )
        assert self.top_ids is not None and self.top_logprobs is not None
        n = len(self)
        shape = self.top_ids.shape
        if self.top_ids.ndim != 2 or shape[0] != n:
            raise ValidationError(f"{owner}.top_ids", f"expected shape ({n}, k), got {shape}")
        if self.top_logprobs.shape != shape:
            raise ValidationError(
                f"{owner}.top_logprobs",
                f"expected shape {shape}, got {tuple(self.top_logprobs.shape)}",
            )
        texts = self.top_texts or []
        if len(texts) != n or any(len(row) != shape[1] for row in texts):
            raise ValidationError(f"{owner}.top_texts", f"expected {n} lists of {shape[1]} strings")
        if not all(isinstance(s, str) for row in texts for s in row):
            raise ValidationError(f"{owner}.top_texts", "alternative texts must be strings")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible dict of lists (float32 values survive the round trip).

        The alternatives' keys are present only when alternatives were recorded; padding
        logprobs (NaN) are written as ``null``.
        """
        out: dict[str, Any] = {
            name: (None if getattr(self, name) is None else getattr(self, name).tolist())
            for name in _TOKEN_FIELDS
        }
        if self.top_ids is not None and self.top_logprobs is not None:
            out["top_ids"] = self.top_ids.tolist()
            out["top_logprobs"] = [
                [None if math.isnan(v) else v for v in row] for row in self.top_logprobs.tolist()
            ]
            out["top_texts"] = [list(row) for row in self.top_texts or []]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, owner: str = "TokenArrays") -> TokenArrays:
        """Build from :meth:`to_dict` output, rejecting unknown fields."""
        if not isinstance(data, dict):
            raise ValidationError(owner, f"expected an object, got {type(data).__name__}")
        reject_unknown(owner, data, (*_TOKEN_FIELDS, *_TOP_FIELDS))
        if data.get("ids") is None:
            raise ValidationError(f"{owner}.ids", "is required")
        top_lp = data.get("top_logprobs")
        try:
            if top_lp is not None:
                top_lp = [[math.nan if v is None else v for v in row] for row in top_lp]
            out = cls(
                ids=data["ids"],
                offsets=data.get("offsets"),
                logprobs=data.get("logprobs"),
                entropies=data.get("entropies"),
                top_ids=data.get("top_ids"),
                top_logprobs=None if top_lp is None else np.asarray(top_lp, dtype=np.float32),
                top_texts=data.get("top_texts"),
            )
        except (TypeError, ValueError) as exc:
            raise ValidationError(owner, f"cannot convert to arrays: {exc}") from exc
        out._validate_top(owner)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TokenArrays):
            return NotImplemented
        for name in (*_TOKEN_FIELDS, "top_ids", "top_logprobs"):
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None):
                return False
            if a is not None and not np.array_equal(a, b, equal_nan=name == "top_logprobs"):
                return False
        return self.top_texts == other.top_texts
