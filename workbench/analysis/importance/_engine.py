"""The importance engine: sample continuations from every boundary, store them, summarise."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from workbench.analysis._segment import segment_text
from workbench.analysis.grading.math_extract import extract_answer
from workbench.analysis.importance._config import ImportanceConfig, experiment_key, get_preset
from workbench.analysis.importance._records import Boundary, ImportanceSample, plan_boundaries
from workbench.analysis.importance._result import ImportanceResult, similarity_flags, summarise
from workbench.analysis.importance._sampler import (
    Continuation,
    sample_continuations,
    split_answer,
)
from workbench.analysis.patterns import label_segments
from workbench.backends.base import Backend, BudgetForcing
from workbench.errors import ValidationError
from workbench.segment import Segment
from workbench.trajectory import Trajectory

if TYPE_CHECKING:
    from workbench.store.store import Store

__all__ = ["ImportanceEstimate", "estimate_importance", "segment_importance"]

Grader = Callable[[Trajectory, str], bool]
AnswerKey = Callable[[str], str | None]


def math_answer_key(answer: str) -> str | None:
    """Return the extracted, normalised final answer (``None`` when there is none)."""
    from workbench.analysis.grading._math_text import normalize_answer

    found = extract_answer(answer)
    return None if found is None else normalize_answer(found.text) or None


@dataclass(slots=True, kw_only=True)
class ImportanceEstimate:
    """What a run will cost, before it starts.

    Attributes
    ----------
    segments, boundaries
        Segments measured and boundaries sampled.
    continuations
        Continuations asked for in all (``boundaries × samples``).
    stored
        Of those, how many are already stored (a resumed run does not sample them again).
    to_sample
        ``continuations - stored``.
    max_new_tokens
        Upper bound of the tokens to generate (``to_sample × the per-continuation budget``).
    prefix_tokens
        Characters of kept thinking to prefill over all requests, divided by 4 (a rough token
        count; a server with prefix caching pays much less).
    tokens_per_s
        Generation rate measured by earlier importance runs of this model in the store, if any.
    seconds
        ``max_new_tokens / tokens_per_s`` (an upper bound: continuations that stop early cost
        less), or ``None`` when no rate is known.
    """

    segments: int
    boundaries: int
    continuations: int
    stored: int
    to_sample: int
    max_new_tokens: int
    prefix_tokens: int
    tokens_per_s: float | None
    seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as a JSON-compatible dict."""
        return {name: getattr(self, name) for name in self.__slots__}


def _resolve_config(
    config: ImportanceConfig | str | None, overrides: dict[str, Any]
) -> ImportanceConfig:
    if config is None:
        cfg = ImportanceConfig()
    elif isinstance(config, str):
        cfg = get_preset(config)
    elif isinstance(config, ImportanceConfig):
        cfg = config
    else:
        raise ValidationError(
            "importance.config",
            f"expected an ImportanceConfig or a preset name, got {type(config).__name__}",
        )
    return replace(cfg, **overrides) if overrides else cfg


def _grader(trajectory: Trajectory, grader: Grader | None) -> tuple[str, Grader]:
    if grader is not None:
        return getattr(grader, "__name__", "custom"), grader
    from workbench.pairs.probe import default_grader

    return default_grader(trajectory)


def _positions(n_segments: int, wanted: Sequence[int] | None) -> list[int]:
    if wanted is None:
        return list(range(n_segments + 1))
    out: set[int] = set()
    for k in wanted:
        if not isinstance(k, int) or not 0 <= k < n_segments:
            raise ValidationError(
                "importance.segments", f"{k!r} is not a segment index (0..{n_segments - 1})"
            )
        out.update((k, k + 1))
    return sorted(out)


def _labelled(
    trajectory: Trajectory, segments: list[Segment], store: Store | None
) -> list[Segment]:
    """Segments with their stored labels when the store has the same spans, else rule labels."""
    known: dict[tuple[int, int], Segment] = {}
    if store is not None and trajectory.id in store:
        known = {tuple(s.char_span): s for s in store.get_segments(trajectory.id) if s.labels}  # type: ignore[misc]
    ruled = label_segments(segments)
    return [
        replace(s, labels=list(known[s.char_span].labels), id=known[s.char_span].id)
        if s.char_span in known
        else r
        for s, r in zip(segments, ruled, strict=True)
    ]


def _stored(
    store: Store | None, trajectory: Trajectory, key: str
) -> dict[int, list[ImportanceSample]]:
    out: dict[int, list[ImportanceSample]] = {}
    if store is not None and trajectory.id in store:
        for s in store.get_importance_samples(trajectory.id, key):
            out.setdefault(s.position, []).append(s)
    return out


def estimate_importance(
    trajectory: Trajectory,
    *,
    model: str,
    config: ImportanceConfig | str | None = None,
    store: Store | None = None,
    grader: Grader | None = None,
    segments: Sequence[int] | None = None,
    **overrides: Any,
) -> ImportanceEstimate:
    """Estimate what :func:`segment_importance` will sample, without sampling anything.

    Parameters are those of :func:`segment_importance` (``model``: the backend's model name).
    """
    cfg = _resolve_config(config, overrides)
    segs, bounds = plan_boundaries(trajectory, segmenter=cfg.segmenter)
    positions = _positions(len(segs), segments)
    name, _ = _grader(trajectory, grader)
    stored = _stored(store, trajectory, experiment_key(cfg, model=model, grader=name))
    have = sum(min(cfg.samples, len(stored.get(p, []))) for p in positions)
    total = len(positions) * cfg.samples
    to_sample = total - have
    prefix = sum(
        len(bounds[p].kept) * max(0, cfg.samples - len(stored.get(p, []))) for p in positions
    )
    budget = to_sample * cfg.max_new_tokens
    rate = store.get_importance_throughput(model) if store is not None else None
    return ImportanceEstimate(
        segments=len(segs) if segments is None else len(set(segments)),
        boundaries=len(positions),
        continuations=total,
        stored=have,
        to_sample=to_sample,
        max_new_tokens=budget,
        prefix_tokens=prefix // 4,
        tokens_per_s=rate,
        seconds=None if not rate else budget / rate,
    )


def _grade_continuation(
    c: Continuation,
    *,
    boundary: Boundary,
    seed: int | None,
    sample_index: int,
    trajectory: Trajectory,
    cfg: ImportanceConfig,
    grade: Grader,
    answer_key: AnswerKey | None,
) -> ImportanceSample:
    close = cfg.exit_text.strip()
    answer = split_answer(c.text, close)
    if cfg.mode == "resample" and close and close not in c.text:
        answer = ""  # the thinking never ended: no answer was given
    first = ""
    if cfg.mode == "resample":
        thinking = c.text.split(close, 1)[0] if close else c.text
        spans = segment_text(thinking, strategy=cfg.segmenter)
        if spans:
            first = thinking[spans[0][0] : spans[0][1]]
    correct = bool(answer) and bool(grade(trajectory, answer))
    return ImportanceSample(
        position=boundary.position,
        boundary=boundary.offset,
        sample=sample_index,
        seed=seed,
        text=c.text,
        answer=answer,
        answer_key=(
            (answer_key(answer) if answer else None)
            if answer_key is not None
            else ("correct" if correct else "incorrect")
        ),
        correct=correct,
        first_segment=first,
        n_tokens=c.n_tokens,
        elapsed_s=c.elapsed_s,
    )


def segment_importance(
    trajectory: Trajectory,
    backend: Backend,
    *,
    config: ImportanceConfig | str | None = None,
    store: Store | None = None,
    grader: Grader | None = None,
    answer_key: AnswerKey | None = None,
    segments: Sequence[int] | None = None,
    embed: Callable[[Sequence[str]], Any] | None = None,
    counterfactual: bool = True,
    progress: bool = True,
    cancel: threading.Event | None = None,
    **overrides: Any,
) -> ImportanceResult:
    """Counterfactual importance of each segment of a trajectory's thinking.

    For each boundary ``k`` (the start of segment ``k``, and the end of the thinking), ``M``
    continuations are sampled from the original prompt with the assistant turn pre-filled with
    the thinking up to ``k``; in ``resample`` mode the model continues thinking, in ``early_exit``
    mode the thinking is closed and it only answers. Each answer is graded. Segment ``k``'s
    importance is ``p(correct | keep) - p(correct | drop)``: continuations from its end against
    continuations from its start, with a confidence interval, the KL divergence of the two answer
    distributions, and (resample mode) the counterfactual form over the resamples that wrote
    something different (see :class:`SegmentImportance`).

    Parameters
    ----------
    trajectory
        A trajectory with thinking, and a gold answer or instructions to grade against (or pass
        ``grader``).
    backend
        Any backend that continues a prefill (transformers, vLLM, an OpenAI-compatible server
        with ``continue_final_message``).
    config
        :class:`ImportanceConfig` or a preset name (:data:`PRESETS`); keyword ``overrides``
        change single parameters (``samples=32``).
    store
        Where the samples are stored as they finish (and read from: a killed or repeated run
        samples only what is missing). The trajectory is added to it when it is not there.
        ``None``: nothing is stored.
    grader
        ``grader(trajectory, answer) -> bool``; default: math against ``gold``, else IFEval.
    answer_key
        ``key(answer) -> str | None`` for the answer distributions; default the normalised
        extracted math answer (with a gold answer), else the verdict.
    segments
        Measure only these segment indices (their two boundaries are sampled).
    embed
        ``embed(texts) -> unit vectors`` for the counterfactual filter (default the packaged
        all-MiniLM-L6-v2); resample mode only.
    counterfactual
        Compute the counterfactual form (resample mode; loads the embedder); ``False`` skips it.
    progress
        Show a progress bar over the continuations.
    cancel
        Set to stop after the requests in flight (what finished is stored).

    Returns
    -------
    ImportanceResult
    """
    cfg = _resolve_config(config, overrides)
    segs, bounds = plan_boundaries(trajectory, segmenter=cfg.segmenter)
    segs = _labelled(trajectory, segs, store)
    positions = _positions(len(segs), segments)
    grader_name, grade = _grader(trajectory, grader)
    if answer_key is None and trajectory.gold:
        answer_key = math_answer_key
    model = backend.model_name
    key = experiment_key(cfg, model=model, grader=grader_name)
    if store is not None:
        if trajectory.id not in store:
            store.add(trajectory)
        store.add_importance_experiment(trajectory.id, key, model=model, config=cfg.to_dict())
    by_position = _stored(store, trajectory, key)
    jobs = []
    for p in positions:
        have = {s.sample for s in by_position.get(p, [])}
        missing = [j for j in range(cfg.samples) if j not in have]
        if missing:
            seed = None if cfg.seed is None else cfg.seed + 7919 * p + 104729 * len(have)
            jobs.append((bounds[p], missing, seed))
    total = len(positions) * cfg.samples
    lock = threading.Lock()
    new: list[ImportanceSample] = []
    stop = cancel or threading.Event()

    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        initial=total - sum(len(m) for _, m, _ in jobs),
        desc=f"importance {trajectory.id[:8]}",
        unit="cont",
        disable=not progress,
    )
    close = cfg.exit_text.strip()

    def run(job: tuple[Boundary, list[int], int | None]) -> None:
        boundary, missing, seed = job
        if stop.is_set():
            return
        if cfg.mode == "early_exit":
            prefill = f"{cfg.open_text}{boundary.kept.rstrip()}{cfg.exit_text}"
            budget, stops = None, ((close,) if close else ())
        else:
            prefill = f"{cfg.open_text}{boundary.kept}"
            budget = (
                None
                if cfg.thinking_tokens is None
                else BudgetForcing(max_thinking_tokens=cfg.thinking_tokens, end_text=cfg.exit_text)
            )
            stops = ()

        def finished(c: Continuation) -> None:
            s = _grade_continuation(
                c,
                boundary=boundary,
                seed=seed,
                sample_index=missing[c.sample],
                trajectory=trajectory,
                cfg=cfg,
                grade=grade,
                answer_key=answer_key,
            )
            with lock:
                if store is not None:
                    store.add_importance_samples(trajectory.id, key, [s])
                new.append(s)
                by_position.setdefault(s.position, []).append(s)
                bar.update(1)

        sample_continuations(
            backend,
            trajectory.prompt,
            prefill,
            n=len(missing),
            max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            seed=seed,
            enable_thinking=cfg.enable_thinking,
            stop=stops,
            budget=budget,
            on_finish=finished,
            cancel=stop,
            what="importance sampling",
        )

    try:
        if cfg.concurrency == 1:
            for job in jobs:
                run(job)
        else:
            with ThreadPoolExecutor(max_workers=cfg.concurrency) as pool:
                for future in [pool.submit(run, job) for job in jobs]:
                    future.result()
    except BaseException:
        stop.set()
        raise
    finally:
        bar.close()
    for p in by_position:
        by_position[p].sort(key=lambda s: s.sample)
        del by_position[p][cfg.samples :]  # a run asking for fewer samples than are stored
    chosen = {p: by_position[p] for p in positions if p in by_position}
    flags = None
    if cfg.mode == "resample" and counterfactual:
        if embed is None:
            from workbench.analysis.embeddings import get_embedder

            embed = get_embedder().encode
        flags = similarity_flags(segs, chosen, threshold=cfg.similarity_threshold, embed=embed)
    return summarise(
        trajectory_id=trajectory.id,
        model=model,
        key=key,
        grader=grader_name,
        config=cfg,
        segments=segs,
        offsets=[b.offset for b in bounds],
        by_position=chosen,
        dissimilar=flags,
        n_new=len(new),
    )
