"""Token positions for teacher forcing: the prompt as the model saw it, the trace, the constraints.

:func:`teacher_forcing` rebuilds the token sequence of a recorded trajectory for a tokenizer: the
chat template applied to the trajectory's prompt (with ``enable_thinking`` as recorded), then the
generated text :attr:`Trajectory.raw` (which starts with any thinking prefill). Recorded token
ids are reused when they decode back to the raw text, so a trace generated here is replayed
token for token; otherwise (imported traces, another model's tokenizer) the raw text is tokenised
on its own, after the prompt. Constraint character spans (relative to their prompt message) are
moved into the rendered prompt and mapped to the tokens that overlap them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.backends.base import GenerationRequest
from workbench.backends.prompting import chat_prompt_text
from workbench.errors import ValidationError
from workbench.trajectory import Constraint, Trajectory

__all__ = [
    "TeacherForcing",
    "message_offsets",
    "prompt_positions",
    "teacher_forcing",
    "token_positions",
]


@dataclass
class TeacherForcing:
    """The token sequence of a trajectory and where its parts are.

    Attributes
    ----------
    ids
        All token ids, ``int64[T]``: the prompt, then the generated text.
    prompt_len
        Number of prompt tokens; generated token ``j`` is ``ids[prompt_len + j]``.
    prompt_text
        The rendered prompt (chat template applied).
    offsets
        Character span of each generated token in :attr:`Trajectory.raw`, ``int32[T - prompt_len,
        2]``.
    constraints
        The constraints, with spans.
    positions
        Per constraint, the prompt token positions it covers (``int64``; empty when it has no
        spans).
    replayed
        ``True`` when the recorded token ids were reused.
    """

    ids: np.ndarray
    prompt_len: int
    prompt_text: str
    offsets: np.ndarray
    constraints: list[Constraint] = field(default_factory=list)
    positions: list[np.ndarray] = field(default_factory=list)
    replayed: bool = False

    @property
    def all_positions(self) -> np.ndarray:
        """The union of all constraints' token positions, sorted."""
        if not self.positions:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self.positions)).astype(np.int64)

    @property
    def generated(self) -> int:
        """Number of generated tokens."""
        return int(self.ids.shape[0]) - self.prompt_len


def message_offsets(prompt_text: str, messages: list[dict[str, Any]]) -> list[int | None]:
    """Return where each message's content starts in the rendered prompt (``None``: not found).

    Contents are searched in order, each after the previous one, so repeated contents resolve to
    the right message.
    """
    out: list[int | None] = []
    cursor = 0
    for message in messages:
        content = str(message.get("content", ""))
        at = prompt_text.find(content, cursor) if content else -1
        if at < 0:
            out.append(None)
            continue
        out.append(at)
        cursor = at + len(content)
    return out


def _encode(tokenizer: Any, text: str) -> tuple[list[int], np.ndarray]:
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError as exc:
        raise ValidationError(
            "tokenizer", "constraint positions need a fast tokenizer (one with offset mappings)"
        ) from exc
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    return list(enc["input_ids"]), offsets


def token_positions(
    offsets: np.ndarray, spans: list[tuple[int, int]], shift: int = 0
) -> np.ndarray:
    """Return the indices of tokens whose character span overlaps any of ``spans`` (+ ``shift``)."""
    if not spans or offsets.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts, ends = offsets[:, 0], offsets[:, 1]
    hit = np.zeros(len(offsets), dtype=bool)
    for s, e in spans:
        hit |= (starts < e + shift) & (ends > s + shift)
    return np.flatnonzero(hit).astype(np.int64)


def prompt_positions(
    prompt_text: str,
    offsets: np.ndarray,
    messages: Sequence[Mapping[str, Any]],
    constraints: Sequence[Constraint],
) -> list[np.ndarray]:
    """Return each constraint's token positions in a rendered prompt (empty without spans).

    Parameters
    ----------
    prompt_text
        The chat template's output for ``messages``.
    offsets
        Character span of each prompt token, ``[n, 2]``.
    messages
        The prompt messages the constraints' ``message`` indices refer to.
    constraints
        Constraints with spans relative to their message's content.

    Raises
    ------
    ValidationError
        When a constraint's message index is out of range or its content is not in the prompt.
    """
    where = message_offsets(prompt_text, [dict(m) for m in messages])
    positions = []
    for c in constraints:
        if not c.spans:
            positions.append(np.zeros(0, dtype=np.int64))
            continue
        try:
            shift = where[c.message]
        except IndexError:
            raise ValidationError(
                "Constraint.message", f"the prompt has {len(where)} messages, not {c.message}"
            ) from None
        if shift is None:
            raise ValidationError(
                "Constraint.message",
                f"message {c.message} does not appear verbatim in the chat template's output; "
                "give the constraint as a phrase instead",
            )
        positions.append(token_positions(offsets, list(c.spans), shift))
    return positions


def _recorded(trajectory: Trajectory, tokenizer: Any) -> tuple[int, list[int], np.ndarray] | None:
    tokens = trajectory.tokens
    if tokens is None or tokens.offsets is None or len(tokens) == 0:
        return None
    offsets = tokens.offsets.astype(np.int64)
    start = int(offsets[0, 0])
    ids = [int(i) for i in tokens.ids]
    try:
        text = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    except Exception:  # a tokenizer that cannot decode these ids is not the one that made them
        return None
    if text != trajectory.raw[start : start + len(text)] or start + len(text) < int(offsets[-1, 1]):
        return None
    return start, ids, offsets


def teacher_forcing(
    trajectory: Trajectory,
    tokenizer: Any,
    constraints: list[Constraint] | None = None,
) -> TeacherForcing:
    """Return the token sequence of ``trajectory`` for ``tokenizer`` and its constraint positions.

    Parameters
    ----------
    trajectory
        A recorded or imported trajectory with a prompt.
    tokenizer
        A fast transformers tokenizer (the model's).
    constraints
        Constraints with spans (default: the trajectory's; see
        :func:`workbench.constraints.resolve_constraints`).

    Raises
    ------
    ValidationError
        Without a prompt, or when a constraint's message cannot be found in the rendered prompt.
    """
    if not trajectory.prompt:
        raise ValidationError("Trajectory.prompt", "teacher forcing needs the trajectory's prompt")
    constraints = list(trajectory.constraints if constraints is None else constraints)
    request = GenerationRequest(
        messages=[dict(m) for m in trajectory.prompt],
        enable_thinking=trajectory.sampling.get("enable_thinking"),
    )
    prompt_text = chat_prompt_text(tokenizer, request)
    recorded = _recorded(trajectory, tokenizer)
    head = trajectory.raw[: recorded[0]] if recorded else ""
    prompt_ids, prompt_offsets = _encode(tokenizer, prompt_text + head)
    if recorded:
        gen_ids, gen_offsets = recorded[1], recorded[2]
    else:
        gen_ids, gen_offsets = _encode(tokenizer, trajectory.raw)
    positions = prompt_positions(prompt_text, prompt_offsets, trajectory.prompt, constraints)
    return TeacherForcing(
        ids=np.asarray([*prompt_ids, *gen_ids], dtype=np.int64),
        prompt_len=len(prompt_ids),
        prompt_text=prompt_text,
        offsets=np.asarray(gen_offsets, dtype=np.int32).reshape(-1, 2),
        constraints=constraints,
        positions=positions,
        replayed=recorded is not None,
    )
