"""Branching a trajectory from one of its tokens: what a fork keeps, forces and records.

A fork of trajectory ``t`` at token ``i`` sends ``t``'s prompt messages exactly as they were sent
(its recorded prompt: a thinking recipe, when one was applied, is in them already and is not
applied again), and forces the start of the assistant turn: ``t.raw`` up to token ``i`` (the
original's own prefill and any text forced into it included), then the replacement (one of token
``i``'s recorded alternatives, or any text). The model continues from there. The new trajectory's
``parent_id`` is ``t.id``; its metadata ``branch`` records the branch point, and its sampling
``thinking_prefill`` and metadata ``forced_spans`` the forced prefix.
"""

from __future__ import annotations

from typing import Any

from workbench.backends.base import BudgetForcing
from workbench.errors import ValidationError
from workbench.trajectory import Trajectory

__all__ = ["BRANCH_KEY", "BranchPlan", "plan_branch"]

BRANCH_KEY = "branch"
"""Metadata key of a fork's branch point."""

_RUN_KEYS = ("run_id", "sample", "forced_spans", "error", BRANCH_KEY)
"""Metadata of the original that belongs to its run, not to the prompt (not copied to a fork)."""

_SAMPLING_KEYS = ("temperature", "top_p", "top_k", "stop", "logprobs", "ignore_eos")


class BranchPlan:
    """What :meth:`Session.branch` generates: the messages, the forced prefix and the options.

    Attributes
    ----------
    messages
        The original's prompt, as sent.
    prefill
        The forced start of the assistant turn (kept text + replacement).
    options
        Keyword arguments for :meth:`Session.generate` (sampling, budget, metadata, ...).
    branch
        The branch point recorded in the fork's metadata ``branch``.
    """

    def __init__(
        self,
        messages: list[dict[str, Any]],
        prefill: str,
        options: dict[str, Any],
        branch: dict[str, Any],
    ) -> None:
        self.messages = messages
        self.prefill = prefill
        self.options = options
        self.branch = branch


def _where(name: str) -> str:
    return f"Session.branch.{name}"


def plan_branch(
    trajectory: Trajectory,
    *,
    at_token: int,
    text: str | None = None,
    alternative: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> BranchPlan:
    """Work out a fork of ``trajectory`` at token ``at_token`` (see the module docstring).

    Parameters
    ----------
    trajectory
        The original (live or stored), with recorded token offsets.
    at_token
        Index of the token replaced: tokens ``[0, at_token)`` are kept.
    text
        Text forced in place of the token (any length).
    alternative
        Index into the token's recorded alternatives (``0``: the most likely; needs a generation
        made with ``logprobs=k``). Neither ``text`` nor ``alternative``: the model samples
        token ``at_token`` again (a re-roll from there).
    overrides
        :meth:`Session.generate` options that replace the ones taken from the original.

    Raises
    ------
    ValidationError
        For a trajectory without token offsets, a token index out of range, both ``text`` and
        ``alternative``, empty ``text``, ``alternative`` on a trajectory recorded without
        alternatives, or an alternative index out of range.
    """
    if not isinstance(trajectory, Trajectory):
        raise ValidationError(
            _where("trajectory"), f"expected a Trajectory, got {type(trajectory).__name__}"
        )
    tokens = trajectory.tokens
    if tokens is None or tokens.offsets is None or not len(tokens):
        raise ValidationError(
            _where("trajectory"),
            f"trajectory {trajectory.id} has no recorded tokens to branch from "
            "(generate it with a local backend, or one that returns logprobs)",
        )
    n = len(tokens)
    if isinstance(at_token, bool) or not isinstance(at_token, int) or not 0 <= at_token < n:
        raise ValidationError(
            _where("at_token"), f"must be a token index in 0..{n - 1}, got {at_token!r}"
        )
    if text is not None and alternative is not None:
        raise ValidationError(_where("text"), "give text or alternative, not both")
    start, end = (int(v) for v in tokens.offsets[at_token])
    alt_info: dict[str, Any] = {
        "alternative": None,
        "alternative_id": None,
        "alternative_logprob": None,
    }
    if alternative is not None:
        alts = tokens.alternatives(at_token)
        if not tokens.top_k:
            raise ValidationError(
                _where("alternative"),
                f"trajectory {trajectory.id} was recorded without alternatives: generate it with "
                "logprobs=k (e.g. logprobs=5), or branch with text=...",
            )
        if (
            isinstance(alternative, bool)
            or not isinstance(alternative, int)
            or not 0 <= alternative < len(alts)
        ):
            raise ValidationError(
                _where("alternative"),
                f"token {at_token} has {len(alts)} recorded alternatives: use 0..{len(alts) - 1}, "
                f"got {alternative!r}",
            )
        chosen, lp, tid = alts[alternative]
        alt_info = {"alternative": alternative, "alternative_id": tid, "alternative_logprob": lp}
        source = "alternative"
    elif text is not None:
        if not isinstance(text, str) or not text:
            raise ValidationError(_where("text"), "must be a non-empty string")
        chosen, source = text, "text"
    else:
        chosen, source = "", "resample"
    prefill = trajectory.raw[:start] + chosen
    branch = {
        "parent_id": trajectory.id,
        "at_token": at_token,
        "at_char": start,
        "replaced": trajectory.raw[start:end],
        "replaced_id": int(tokens.ids[at_token]),
        "replaced_logprob": None if tokens.logprobs is None else float(tokens.logprobs[at_token]),
        "text": chosen,
        "source": source,
        **alt_info,
        "prefix_chars": len(prefill),
    }
    options = _options(trajectory, at_token, start, branch)
    options.update(overrides or {})
    return BranchPlan(list(trajectory.prompt), prefill, options, branch)


def _options(t: Trajectory, at_token: int, start: int, branch: dict[str, Any]) -> dict[str, Any]:
    """Return the original's sampling, budget and metadata, adjusted for what the fork keeps."""
    sampling = t.sampling or {}
    out: dict[str, Any] = {k: sampling[k] for k in _SAMPLING_KEYS if sampling.get(k) is not None}
    if "stop" in out:
        out["stop"] = tuple(out["stop"])
    if sampling.get("enable_thinking") is not None:
        out["enable_thinking"] = sampling["enable_thinking"]
    if isinstance(sampling.get("max_new_tokens"), int):
        out["max_new_tokens"] = max(1, sampling["max_new_tokens"] - at_token)
    budget = sampling.get("budget")
    if isinstance(budget, dict):
        limit = budget.get("max_thinking_tokens")
        if isinstance(limit, int):
            # the fork's forced prefix is not counted: what is left of the original's budget
            lo, hi = t.thinking_span
            offsets = t.tokens.offsets if t.tokens is not None else None
            forced = t.metadata.get("forced_spans") or []
            spent = 0
            if offsets is not None and start > lo:
                for a, _ in offsets[:at_token].tolist():
                    if lo <= a < hi and not any(f0 <= a < f1 for f0, f1 in forced):
                        spent += 1
            limit = max(1, limit - spent)
        out["budget"] = BudgetForcing(**{**budget, "max_thinking_tokens": limit})
    metadata = {k: v for k, v in t.metadata.items() if k not in _RUN_KEYS}
    metadata[BRANCH_KEY] = branch
    out["metadata"] = metadata
    if t.constraints:
        out["constraints"] = list(t.constraints)
    return out
