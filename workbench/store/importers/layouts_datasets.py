"""Named layouts of public reasoning datasets.

OpenThoughts / Bespoke-Stratos, s1K, OpenR1-Math, and TRL preference rows with reasoning. Each is built from the dataset's public card: the field names below are the documented ones.
"""

from __future__ import annotations

from typing import Any

from workbench.think import THOUGHT_MARKERS, parse_think

from .convert import Converted, RecordError, _messages, convert_record
from .known import Context, NamedLayout, build, collect, grade_of, register, text_of, user_prompt
from .layout import detect_layout

__all__ = ["S1K_MODELS"]

S1K_MODELS: dict[str, str] = {
    "deepseek": "deepseek-r1",
    "gemini": "gemini-2.0-flash-thinking",
}
"""Model names for s1K's ``<prefix>_thinking_trajectory`` columns (the dataset card names the
models that wrote them; an unknown prefix is used as the model name). s1K 1.0's
``thinking_trajectories`` were written by Gemini."""


def _generic(record: dict[str, Any], ctx: Context) -> Converted:
    """Convert through field detection (for layouts the generic converter already reads)."""
    layout = detect_layout(record.keys())
    return convert_record(record, layout, source=ctx.source, model=ctx.model, extra_tags=ctx.tags)


# -- OpenThoughts / Bespoke-Stratos --------------------------------------------------------------
def _has_markers(record: dict[str, Any]) -> bool:
    convo = record.get("conversations")
    if not isinstance(convo, list):
        return False
    for turn in convo:
        if isinstance(turn, dict) and THOUGHT_MARKERS[0] in str(turn.get("value", "")):
            return True
    return False


def _is_openthoughts(record: dict[str, Any]) -> bool:
    if "deepseek_reasoning" in record and "deepseek_solution" in record:
        return True  # the OpenThoughts "metadata" configuration
    return "conversations" in record and ("system" in record or _has_markers(record))


def _openthoughts(record: dict[str, Any], ctx: Context) -> Converted:
    if "deepseek_reasoning" not in record:
        return _generic(record, ctx)
    parsed = parse_think(
        text_of(record.get("deepseek_solution"), "deepseek_solution"),
        reasoning=text_of(record.get("deepseek_reasoning"), "deepseek_reasoning"),
    )
    used = {"problem", "deepseek_reasoning", "deepseek_solution", "ground_truth_solution"}
    meta = {k: v for k, v in record.items() if k not in used}
    traj = build(
        parsed,
        ctx,
        prompt=user_prompt(record.get("problem"), "problem"),
        source_id=None,
        metadata=meta,
        model=S1K_MODELS["deepseek"],
        gold=record.get("ground_truth_solution"),
    )
    return collect([traj])


register(
    NamedLayout(
        "openthoughts",
        "OpenThoughts / Bespoke-Stratos: ShareGPT conversations with a system prompt and "
        "<|begin_of_thought|> markers (or the metadata configuration's deepseek_* columns)",
        _is_openthoughts,
        _openthoughts,
    )
)


# -- s1K / s1K-1.1 -------------------------------------------------------------------------------
def _s1k_prefixes(record: dict[str, Any]) -> list[str]:
    return [
        k.removesuffix("_thinking_trajectory") for k in record if k.endswith("_thinking_trajectory")
    ]


def _is_s1k(record: dict[str, Any]) -> bool:
    return "question" in record and (
        "thinking_trajectories" in record or bool(_s1k_prefixes(record))
    )


def _s1k(record: dict[str, Any], ctx: Context) -> Converted:
    runs: list[
        tuple[str | None, str, str, str | None]
    ] = []  # (model, thinking, attempt, grade key)
    if "thinking_trajectories" in record:
        runs.append((ctx.model or S1K_MODELS["gemini"], "thinking_trajectories", "attempt", None))
    for prefix in _s1k_prefixes(record):
        grade_key = f"{prefix}_grade" if f"{prefix}_grade" in record else None
        runs.append(
            (S1K_MODELS.get(prefix, prefix), f"{prefix}_thinking_trajectory", f"{prefix}_attempt",
             grade_key)
        )  # fmt: skip
    used = {"question", "solution"}
    for _, thinking, attempt, grade_key in runs:
        used.update((thinking, attempt))
        if grade_key:
            used.update((grade_key, f"{grade_key}_reason"))
    shared = {k: v for k, v in record.items() if k not in used}
    prompt = user_prompt(record.get("question"), "question")
    out = []
    for model, thinking, attempt, grade_key in runs:
        if record.get(thinking) in (None, "", []) and record.get(attempt) in (None, ""):
            continue  # this model has no trajectory for the question
        parsed = parse_think(
            text_of(record.get(attempt), attempt), reasoning=text_of(record.get(thinking), thinking)
        )
        meta = dict(shared)
        grade = None
        if grade_key:
            grade = grade_of(record.get(grade_key), grader="s1k")
            if record.get(f"{grade_key}_reason"):
                meta["grade_reason"] = record[f"{grade_key}_reason"]
        out.append(
            build(parsed, ctx, prompt=prompt, source_id=None, metadata=meta, model=model,
                  gold=record.get("solution"), grade=grade)
        )  # fmt: skip
    if not out:
        raise RecordError("no model's thinking or attempt is filled in")
    return collect(out)


register(
    NamedLayout(
        "s1k",
        "s1K / s1K-1.1: question, solution, thinking_trajectories + attempt, or one "
        "<model>_thinking_trajectory + <model>_attempt per model",
        _is_s1k,
        _s1k,
    )
)


# -- OpenR1-Math ---------------------------------------------------------------------------------
_R1_LISTS = (
    "correctness_math_verify",
    "correctness_llama",
    "is_reasoning_complete",
    "finish_reasons",
)
_R1_GRADERS = (("correctness_math_verify", "math_verify"), ("correctness_llama", "llama_judge"))


def _is_openr1(record: dict[str, Any]) -> bool:
    return "problem" in record and (
        "generations" in record or ("messages" in record and "correctness_math_verify" in record)
    )


def _item(record: dict[str, Any], key: str, i: int) -> Any:
    value = record.get(key)
    return value[i] if isinstance(value, list) and i < len(value) else None


def _openr1(record: dict[str, Any], ctx: Context) -> Converted:
    gens = record.get("generations")
    if gens is not None and not isinstance(gens, list):
        raise RecordError(f"generations must be a list of texts, got {type(gens).__name__}")
    uid = record.get("uuid")
    base = None if uid in (None, "") else str(uid)
    prompt = user_prompt(record.get("problem"), "problem")
    used = {"problem", "answer", "generations", "messages", "uuid", *_R1_LISTS}
    shared = {k: v for k, v in record.items() if k not in used}
    out = []
    for i, gen in enumerate(gens or []):
        if not isinstance(gen, str):
            raise RecordError(f"generations[{i}] must be text, got {type(gen).__name__}")
        grade = None
        for key, grader in _R1_GRADERS:
            grade = grade_of(_item(record, key, i), grader=grader)
            if grade is not None:
                break
        meta = {**shared, "generation": i}
        for key in _R1_LISTS:
            if _item(record, key, i) is not None:
                meta[key] = _item(record, key, i)
        out.append(
            build(parse_think(gen), ctx, prompt=prompt,
                  source_id=None if base is None else f"{base}:{i}", metadata=meta,
                  gold=record.get("answer"), grade=grade,
                  finish_reason=_item(record, "finish_reasons", i))
        )  # fmt: skip
    if not out:  # no generations: the messages are the one trajectory
        messages = _messages(record.get("messages"), "messages")
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1)
        if last < 0:
            raise RecordError("no generations and no assistant message in messages")
        reply = messages[last]
        parsed = parse_think(reply["content"], reasoning=reply.get("reasoning_content"))
        out.append(
            build(parsed, ctx, prompt=messages[:last] or prompt,
                  source_id=None if base is None else f"{base}:messages",
                  metadata={**shared, "from": "messages"}, gold=record.get("answer"))
        )  # fmt: skip
    return collect(out)


register(
    NamedLayout(
        "openr1_math",
        "OpenR1-Math: problem, answer, generations (raw <think> responses) with per-generation "
        "correctness lists; messages when there are no generations",
        _is_openr1,
        _openr1,
    )
)


# -- TRL preference rows with reasoning ----------------------------------------------------------
def _carries_reasoning(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(
        isinstance(m, dict)
        and any(m.get(k) for k in ("reasoning_content", "thinking", "reasoning"))
        for m in items
    )


def _is_trl_preference(record: dict[str, Any]) -> bool:
    return (
        "chosen" in record
        and "rejected" in record
        and (_carries_reasoning(record["chosen"]) or _carries_reasoning(record["rejected"]))
    )


register(
    NamedLayout(
        "trl_preference",
        "TRL preference rows (prompt/chosen/rejected) whose assistant messages carry "
        "reasoning_content or thinking: two trajectories and one imported pair",
        _is_trl_preference,
        _generic,
    )
)
