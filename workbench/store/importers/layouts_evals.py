"""Evaluation logs: Inspect AI samples and lm-evaluation-harness ``--log_samples`` lines.

Inspect logs (``.eval`` zip files and ``.json`` logs) are read by
:mod:`~workbench.store.importers.readers_inspect`, which yields each sample with the log's eval
header under :data:`INSPECT_HEADER`; this module converts a sample. lm-eval sample lines are
converted one trajectory per response (``resps`` holds one list per request, of ``repeats``
texts each); the task and the model come from the file's name (``samples_<task>_<date>.jsonl``
in a folder named after the model, as lm-eval writes them). A metric field (``exact_match``,
``acc``, ...) grades the response when the doc has one; with ``repeats`` the metric describes the
doc as a whole, so it stays in metadata and the responses are ungraded.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.grade import Grade
from workbench.think import parse_think
from workbench.trajectory import Message

from .convert import Converted, RecordError
from .known import Context, NamedLayout, build, collect, grade_of, register, user_prompt

__all__ = ["INSPECT_HEADER", "inspect_grade"]

INSPECT_HEADER = "_inspect_eval"
"""The key under which the Inspect reader attaches the log's ``eval`` header to each sample."""

_INSPECT_VALUES = {"C": (True, 1.0), "I": (False, 0.0), "P": (None, 0.5), "N": (False, 0.0)}
_INSPECT_ROLES = ("system", "user", "assistant", "tool")


def inspect_grade(scores: Any) -> Grade | None:
    """Return the grade of the first scorer that gives a verdict (``C``/``I``/``P``/``N``/bool/number).

    ``C`` is correct, ``I`` incorrect, ``N`` no answer (incorrect), ``P`` partial (score 0.5,
    correctness unknown) — Inspect's own value-to-float mapping.
    """
    if not isinstance(scores, dict):
        return None
    for name, score in scores.items():
        value = score.get("value") if isinstance(score, dict) else score
        details = (
            {k: score.get(k) for k in ("answer", "explanation")}
            if isinstance(score, dict)
            else None
        )
        grader = f"inspect:{name}"
        if isinstance(value, str) and value in _INSPECT_VALUES:
            correct, points = _INSPECT_VALUES[value]
            return Grade(correct=correct, score=points, grader=grader, details=details)
        if isinstance(value, bool | int | float):
            grade = grade_of(value, grader=grader)
            if grade is not None:
                return Grade(
                    correct=grade.correct, score=grade.score, grader=grader, details=details
                )
    return None


def _parts(content: Any, where: str) -> tuple[str, str | None, bool]:
    """Return ``(text, reasoning or None, redacted)`` of an Inspect message content."""
    if content is None:
        return "", None, False
    if isinstance(content, str):
        return content, None, False
    if not isinstance(content, list):
        raise RecordError(f"{where}.content must be text or a list of content blocks")
    texts, thoughts, redacted = [], [], False
    for block in content:
        if not isinstance(block, dict):
            raise RecordError(
                f"{where}.content: expected content blocks, got {type(block).__name__}"
            )
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "reasoning":
            if block.get("redacted"):
                redacted = True
            else:
                thoughts.append(str(block.get("reasoning") or ""))
    reasoning = "\n\n".join(t for t in thoughts if t) or None
    return "".join(texts), reasoning, redacted


def _inspect_messages(raw: Any, where: str) -> list[Message]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise RecordError(f"{where} must be text or a list of messages")
    out: list[Message] = []
    for i, msg in enumerate(raw):
        if not isinstance(msg, dict) or msg.get("role") not in _INSPECT_ROLES:
            raise RecordError(
                f"{where}[{i}]: expected a message with role system/user/assistant/tool"
            )
        text, reasoning, _ = _parts(msg.get("content"), f"{where}[{i}]")
        m: Message = {"role": msg["role"], "content": text}
        if reasoning:
            m["reasoning_content"] = reasoning
        out.append(m)
    return out


def _is_inspect(record: dict[str, Any]) -> bool:
    return INSPECT_HEADER in record or {"epoch", "input", "messages", "output"} <= record.keys()


def _inspect(record: dict[str, Any], ctx: Context) -> Converted:
    header = record.get(INSPECT_HEADER) or {}
    messages = record.get("messages") or []
    if not isinstance(messages, list):
        raise RecordError("messages must be a list")
    last = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        default=-1,
    )
    output: dict[str, Any] = record["output"] if isinstance(record.get("output"), dict) else {}
    choices: list[Any] = output["choices"] if isinstance(output.get("choices"), list) else []
    reply: dict[str, Any]
    prompt_raw: Any
    if last >= 0:
        reply, prompt_raw = messages[last], messages[:last]
    elif choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
        reply, prompt_raw = choices[0]["message"], messages or record.get("input")
    else:
        raise RecordError("the sample has no assistant message (no output was generated)")
    prompt = _inspect_messages(prompt_raw, "messages")
    text, reasoning, redacted = _parts(reply.get("content"), "messages[-1]")
    parsed = parse_think(text, reasoning=reasoning)
    meta: dict[str, Any] = {
        "task": header.get("task"),
        "sample_id": record.get("id"),
        "epoch": record.get("epoch"),
    }
    for key in ("task_id", "run_id", "eval_id", "dataset"):
        if header.get(key) is not None:
            meta[key] = header[key]
    if record.get("metadata"):
        meta["sample_metadata"] = record["metadata"]
    if record.get("scores"):
        meta["scores"] = record["scores"]
    if redacted:
        meta["reasoning_redacted"] = True
    if output.get("usage"):
        meta["usage"] = output["usage"]
    target = record.get("target")
    if isinstance(target, list):
        target = target[0] if len(target) == 1 else "\n".join(str(t) for t in target)
    stop = choices[0].get("stop_reason") if choices and isinstance(choices[0], dict) else None
    finish = {"stop": "stop", "max_tokens": "length", "model_length": "length"}.get(str(stop), stop)
    sid = record.get("id")
    traj = build(
        parsed,
        ctx,
        prompt=prompt,
        source_id=None if sid is None else f"{sid}:epoch{record.get('epoch', 1)}",
        metadata=meta,
        model=output.get("model") or header.get("model"),
        gold=target,
        grade=inspect_grade(record.get("scores")),
        finish_reason=finish,
        status="error" if record.get("error") else "complete",
    )
    return collect([traj])


register(
    NamedLayout(
        "inspect",
        "Inspect AI eval logs (.eval zip or .json): one trajectory per sample, reasoning from "
        "ContentReasoning blocks, scores as grades, task and model in metadata",
        _is_inspect,
        _inspect,
    )
)


# -- lm-evaluation-harness -----------------------------------------------------------------------
_SAMPLES_FILE = re.compile(r"^samples_(?P<task>.+?)_\d{4}-\d{2}-\d{2}T[\d\-.:]+\.jsonl?$")
_NOT_METRICS = {
    "doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
    "doc_hash", "prompt_hash", "target_hash", "task", "task_name", "model",
}  # fmt: skip


def _is_lm_eval(record: dict[str, Any]) -> bool:
    return "resps" in record and ("doc" in record or "doc_id" in record)


def _lm_prompt(arguments: Any) -> str | None:
    if isinstance(arguments, dict):  # {"gen_args_0": {"arg_0": prompt, "arg_1": kwargs}}
        first = next(iter(arguments.values()), None)
        if isinstance(first, dict):
            return first.get("arg_0") if isinstance(first.get("arg_0"), str) else None
    if isinstance(arguments, list) and arguments:  # older: [[prompt, kwargs], ...]
        first = arguments[0]
        if isinstance(first, list) and first and isinstance(first[0], str):
            return first[0]
    return None


def _lm_eval(record: dict[str, Any], ctx: Context) -> Converted:
    resps = record.get("resps")
    if not isinstance(resps, list) or not resps:
        raise RecordError("resps must be a non-empty list of responses")
    first = resps[0] if isinstance(resps[0], list) else [resps[0]]
    if not all(isinstance(r, str) for r in first):
        raise RecordError(
            "resps holds loglikelihood scores, not generated text (a multiple-choice task): "
            "only generate_until samples have responses to import"
        )
    task, model = None, None
    if ctx.path is not None and (m := _SAMPLES_FILE.match(ctx.path.name)):
        task = m.group("task")
        model = ctx.path.parent.name.replace("__", "/") or None
    task = record.get("task") or record.get("task_name") or task
    metrics = record.get("metrics") if isinstance(record.get("metrics"), list) else None
    names = [str(n) for n in metrics] if metrics else [k for k in record if k not in _NOT_METRICS]
    grade = None
    for name in names if len(first) == 1 else ():  # a doc's metric grades its one response
        value = record.get(name)
        if isinstance(value, bool | int | float):
            grade = grade_of(value, grader=f"lm_eval:{name}")
            if grade is not None and grade.score in (0.0, 1.0) and grade.correct is None:
                grade = Grade(correct=grade.score == 1.0, score=grade.score, grader=grade.grader)
            break
    filtered = record.get("filtered_resps")
    prompt_text = _lm_prompt(record.get("arguments"))
    doc = record.get("doc")
    if prompt_text is None and isinstance(doc, dict):
        prompt_text = next(
            (str(doc[k]) for k in ("question", "problem", "prompt") if k in doc), None
        )
    if prompt_text is None:
        raise RecordError("no prompt: arguments holds no prompt text and doc no question")
    meta: dict[str, Any] = {
        "task": task,
        "doc_id": record.get("doc_id"),
        "filter": record.get("filter"),
        "doc": doc,
        "metrics": {n: record.get(n) for n in names if n in record},
    }
    out = []
    for i, text in enumerate(first):
        m_i = {**meta, "response_index": i}
        if isinstance(filtered, list) and i < len(filtered):
            m_i["filtered_response"] = filtered[i] if len(first) > 1 else filtered[0]
        doc_id = record.get("doc_id")
        sid = None if doc_id is None else f"{task}:{doc_id}:{record.get('filter')}:{i}"
        out.append(
            build(parse_think(text), ctx, prompt=user_prompt(prompt_text, "arguments"),
                  source_id=sid, metadata=m_i, model=record.get("model") or model,
                  gold=record.get("target"), grade=grade)
        )  # fmt: skip
    return collect(out)


register(
    NamedLayout(
        "lm_eval",
        "lm-evaluation-harness --log_samples JSONL: doc, target, resps / filtered_resps and "
        "metric fields -> prompt, gold, one trajectory per response, grade",
        _is_lm_eval,
        _lm_eval,
    )
)
