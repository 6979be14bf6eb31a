r"""Early-exit probing (DTO, arXiv 2505.21765): where could the model have stopped thinking.

For a trajectory, at each segment boundary ``b`` of its thinking:

1. the probe prompt is the original prompt, with the assistant turn pre-filled with
   ``"<think>\n" + thinking[:b] + "\n</think>\n\n"`` (the end of thinking forced);
2. ``M`` answers are sampled from a backend and graded (math against ``gold``, IFEval
   instructions, or a grader you pass);
3. ``p(b)`` is the share of correct answers.

The first boundary with ``p >= T`` is the termination point: the trace truncated there (closed,
followed by the first correct sampled answer) is the chosen side of an ``early_exit`` pair and the
original the rejected side. The curve of ``p`` over the boundaries is kept (:class:`ProbeCurve`)
and can be drawn with :func:`workbench.charts.probe.probe_chart`.

Boundaries are the ends of the thinking's segments (the ``cues`` segmenter by default, see
:mod:`workbench.analysis._segment`), without the last one (the end of the thinking, where nothing
would be saved). Probing stops at the first boundary that reaches ``T`` unless the full curve is
asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.analysis._segment import DEFAULT_STRATEGY, segment
from workbench.analysis.grading.pipeline import grade_trajectory, ifeval_constraints
from workbench.backends.base import (
    Backend,
)
from workbench.errors import ValidationError
from workbench.grade import Grade
from workbench.pairs.derive import DEFAULT_EXIT_TEXT, DEFAULT_OPEN_TEXT, truncated_trajectory
from workbench.trajectory import Trajectory

__all__ = [
    "ProbeConfig",
    "ProbeCurve",
    "ProbeGrader",
    "ProbePoint",
    "default_grader",
    "early_exit_trajectory",
    "probe_boundaries",
    "probe_trajectory",
]

ProbeGrader = Callable[[Trajectory, str], bool]
"""``grader(original trajectory, sampled answer) -> correct``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeConfig:
    """Parameters of early-exit probing.

    Attributes
    ----------
    samples
        ``M``: answers sampled at each boundary.
    threshold
        ``T``: the first boundary whose share of correct answers is at least this is the
        termination point.
    max_new_tokens
        Token budget of each sampled answer.
    temperature, top_p
        Sampling of the answers (``temperature=0`` makes the ``M`` answers identical).
    seed
        Base seed: boundary ``i`` samples with ``seed + i`` (``None``: not reproducible).
    enable_thinking
        Passed to chat templates that read it (Qwen3); ``None`` leaves the template's default.
    open_text, exit_text
        What opens the thinking in the prefill, and the forced end of thinking.
    segmenter
        Segmentation strategy whose segment ends are the boundaries
        (:data:`workbench.analysis._segment.STRATEGIES`).
    max_boundaries
        Probe at most this many boundaries, evenly spread (the first always included);
        ``None``: all.
    stop_at_threshold
        Stop at the first boundary that reaches ``threshold`` (``False``: probe them all, for a
        full curve).
    min_saved_fraction
        Make a pair only when the termination point removes at least this share of the thinking's
        characters.
    answer
        The chosen side's answer: ``"sampled"`` (the first correct answer sampled at the
        termination point) or ``"original"`` (the original answer, for correct originals).
    """

    samples: int = 8
    threshold: float = 0.5
    max_new_tokens: int = 64
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int | None = 0
    enable_thinking: bool | None = None
    open_text: str = DEFAULT_OPEN_TEXT
    exit_text: str = DEFAULT_EXIT_TEXT
    segmenter: str = DEFAULT_STRATEGY
    max_boundaries: int | None = 16
    stop_at_threshold: bool = True
    min_saved_fraction: float = 0.1
    answer: str = "sampled"

    def __post_init__(self) -> None:
        o = "ProbeConfig"
        if self.samples < 1:
            raise ValidationError(f"{o}.samples", f"must be >= 1, got {self.samples}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValidationError(f"{o}.threshold", f"must be in (0, 1], got {self.threshold}")
        if self.max_boundaries is not None and self.max_boundaries < 1:
            raise ValidationError(f"{o}.max_boundaries", "must be >= 1 or None")
        if not 0.0 <= self.min_saved_fraction < 1.0:
            raise ValidationError(f"{o}.min_saved_fraction", "must be in [0, 1)")
        if self.answer not in ("sampled", "original"):
            raise ValidationError(f"{o}.answer", f"{self.answer!r} is not 'sampled' or 'original'")

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-compatible dict."""
        return asdict(self)


@dataclass(slots=True, kw_only=True)
class ProbePoint:
    """One probed boundary.

    Attributes
    ----------
    index
        Index of the segment the boundary ends.
    boundary
        Character offset of the boundary in :attr:`Trajectory.raw`.
    thinking_chars
        Characters of thinking kept (from the start of the thinking to the boundary).
    tokens
        Tokens of thinking kept, when a tokenizer or recorded token offsets give them.
    correct
        Whether each sampled answer was correct.
    """

    index: int
    boundary: int
    thinking_chars: int
    tokens: int | None
    correct: list[bool] = field(default_factory=list)

    @property
    def p(self) -> float:
        """The share of correct answers."""
        return sum(self.correct) / len(self.correct) if self.correct else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the point as a JSON-compatible dict (with ``p``)."""
        return {
            "index": self.index,
            "boundary": self.boundary,
            "thinking_chars": self.thinking_chars,
            "tokens": self.tokens,
            "correct": list(self.correct),
            "p": self.p,
        }


@dataclass(slots=True, kw_only=True)
class ProbeCurve:
    """The result of probing one trajectory.

    Attributes
    ----------
    trajectory_id
        The probed trajectory.
    model
        The backend's model that sampled the answers.
    config
        :class:`ProbeConfig` as a dict.
    points
        The probed boundaries, in order.
    thinking_chars, thinking_tokens
        Length of the whole thinking (tokens when known).
    n_boundaries
        Boundaries available before sub-sampling.
    exit_index
        Position in ``points`` of the termination point (first ``p >= threshold``), or ``None``.
    exit_answer
        The first correct answer sampled at the termination point.
    grader
        Name of the grader used.
    """

    trajectory_id: str
    model: str
    config: dict[str, Any]
    points: list[ProbePoint] = field(default_factory=list)
    thinking_chars: int = 0
    thinking_tokens: int | None = None
    n_boundaries: int = 0
    exit_index: int | None = None
    exit_answer: str | None = None
    grader: str = ""

    @property
    def exit_point(self) -> ProbePoint | None:
        """The termination point, or ``None`` when no boundary reached the threshold."""
        return None if self.exit_index is None else self.points[self.exit_index]

    def to_dict(self) -> dict[str, Any]:
        """Return the curve as a JSON-compatible dict (stored in pair provenance and metadata)."""
        return {
            "trajectory_id": self.trajectory_id,
            "model": self.model,
            "config": dict(self.config),
            "points": [p.to_dict() for p in self.points],
            "thinking_chars": self.thinking_chars,
            "thinking_tokens": self.thinking_tokens,
            "n_boundaries": self.n_boundaries,
            "exit_index": self.exit_index,
            "exit_answer": self.exit_answer,
            "grader": self.grader,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeCurve:
        """Rebuild a curve from :meth:`to_dict` output."""
        points = [
            ProbePoint(
                index=int(p["index"]),
                boundary=int(p["boundary"]),
                thinking_chars=int(p["thinking_chars"]),
                tokens=p.get("tokens"),
                correct=[bool(x) for x in p.get("correct", [])],
            )
            for p in data.get("points", [])
        ]
        return cls(
            trajectory_id=str(data["trajectory_id"]),
            model=str(data.get("model", "")),
            config=dict(data.get("config") or {}),
            points=points,
            thinking_chars=int(data.get("thinking_chars", 0)),
            thinking_tokens=data.get("thinking_tokens"),
            n_boundaries=int(data.get("n_boundaries", len(points))),
            exit_index=data.get("exit_index"),
            exit_answer=data.get("exit_answer"),
            grader=str(data.get("grader", "")),
        )


def default_grader(trajectory: Trajectory) -> tuple[str, ProbeGrader]:
    """Return ``(name, grader)`` for a trajectory's sampled answers.

    Math against the trajectory's ``gold`` when it has one, else its IFEval instructions.

    Raises
    ------
    ValidationError
        When the trajectory has neither: pass ``grader=callable(trajectory, answer) -> bool``.
    """
    if trajectory.gold:
        name = "math"
    elif ifeval_constraints(trajectory) is not None:
        name = "ifeval"
    else:
        raise ValidationError(
            "early_exit.grader",
            f"trajectory {trajectory.id} has no gold answer and no instructions to check: "
            "pass grader=callable(trajectory, answer) -> bool",
        )

    def grade(original: Trajectory, answer: str) -> bool:
        probe = Trajectory(
            prompt=original.prompt,
            raw=answer,
            think_format="none",
            answer_span=(0, len(answer)),
            gold=original.gold,
            metadata=original.metadata,
            constraints=list(original.constraints),
        )
        result = grade_trajectory(probe, grader=name)
        return bool(result is not None and result.correct)

    return name, grade


def probe_boundaries(
    trajectory: Trajectory, *, segmenter: str = DEFAULT_STRATEGY, max_boundaries: int | None = None
) -> tuple[list[tuple[int, int]], int]:
    """Return the boundaries to probe as ``(segment index, raw offset)``, and how many there were.

    The ends of the thinking's segments, without the end of the thinking itself; at most
    ``max_boundaries`` of them, evenly spread, the first always kept.
    """
    end = trajectory.thinking_span[1]
    found = [(s.index, s.char_span[1]) for s in segment(trajectory, strategy=segmenter)]
    found = [(i, b) for i, b in found if b < end]
    total = len(found)
    if max_boundaries is not None and total > max_boundaries:
        step = total / max_boundaries
        found = [found[int(k * step)] for k in range(max_boundaries)]
    return found, total


def _token_counter(trajectory: Trajectory, tokenizer: Any, backend: Backend) -> Any:
    """Return ``count(thinking_prefix) -> int | None``."""
    encode = None
    if tokenizer is not None:
        encode = getattr(tokenizer, "encode", None)
    elif callable(getattr(backend, "encode", None)):
        encode = backend.encode  # type: ignore[attr-defined]
    if encode is not None:
        fn = encode

        def count(text: str) -> int | None:
            try:
                return len(fn(text, add_special_tokens=False))
            except TypeError:
                return len(fn(text))

        return count
    from workbench.analysis.tokens import thinking_token_ends

    ends = thinking_token_ends(trajectory)
    if ends is None or not len(ends):
        return lambda text: None
    return lambda text: int((ends <= len(text)).sum())


def _sample_answers(
    backend: Backend, trajectory: Trajectory, prefill: str, config: ProbeConfig, seed: int | None
) -> list[str]:
    """Sample answers with the engine's early-exit sampling (:mod:`workbench.analysis.importance`) at one boundary."""
    from workbench.analysis.importance._sampler import sample_continuations, split_answer

    close = config.exit_text.strip()
    found = sample_continuations(
        backend,
        trajectory.prompt,
        prefill,
        n=config.samples,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        seed=seed,
        enable_thinking=config.enable_thinking,
        stop=(close,) if close else (),  # thinking again is not answering
        what="early-exit probing",
    )
    texts = [""] * config.samples
    for c in found:
        texts[c.sample] = c.text
    return [split_answer(text, close) for text in texts]


def probe_trajectory(
    trajectory: Trajectory,
    backend: Backend,
    *,
    config: ProbeConfig | None = None,
    grader: ProbeGrader | None = None,
    boundaries: Sequence[int] | None = None,
    tokenizer: Any = None,
) -> ProbeCurve:
    """Probe a trajectory's thinking for the earliest point where the model would answer correctly.

    Parameters
    ----------
    trajectory
        A trajectory with thinking (and a gold answer or instructions, unless ``grader`` is given).
    backend
        Samples the answers (e.g. :class:`~workbench.backends.hf.TransformersBackend`).
    config
        :class:`ProbeConfig` (``M``, ``T``, budgets, boundaries).
    grader
        ``grader(trajectory, answer) -> bool``; default :func:`default_grader`.
    boundaries
        Raw character offsets to probe instead of the segment ends (each inside the thinking).
    tokenizer
        Counts the thinking tokens kept at each boundary; default the backend's ``encode`` when it
        has one, else the trajectory's recorded token offsets.

    Returns
    -------
    ProbeCurve
        The curve, with ``exit_index`` and ``exit_answer`` set when a boundary reached ``T``.
    """
    cfg = config or ProbeConfig()
    if not trajectory.thinking:
        raise ValidationError("early_exit", f"trajectory {trajectory.id} has no thinking to probe")
    if grader is None:
        grader_name, grade = default_grader(trajectory)
    else:
        grader_name, grade = getattr(grader, "__name__", "custom"), grader
    start, end = trajectory.thinking_span
    if boundaries is None:
        found, total = probe_boundaries(
            trajectory, segmenter=cfg.segmenter, max_boundaries=cfg.max_boundaries
        )
    else:
        for b in boundaries:
            if not start < b < end:
                raise ValidationError(
                    "early_exit.boundaries", f"{b} is not inside the thinking ({start}, {end})"
                )
        found, total = list(enumerate(sorted(boundaries))), len(boundaries)
    count = _token_counter(trajectory, tokenizer, backend)
    curve = ProbeCurve(
        trajectory_id=trajectory.id,
        model=backend.model_name,
        config=cfg.to_dict(),
        thinking_chars=end - start,
        thinking_tokens=count(trajectory.thinking),
        n_boundaries=total,
        grader=grader_name,
    )
    for k, (index, boundary) in enumerate(found):
        kept = trajectory.raw[start:boundary].rstrip()
        prefill = f"{cfg.open_text}{kept}{cfg.exit_text}"
        seed = None if cfg.seed is None else cfg.seed + k
        answers = _sample_answers(backend, trajectory, prefill, cfg, seed)
        verdicts = [bool(a) and grade(trajectory, a) for a in answers]
        point = ProbePoint(
            index=index,
            boundary=boundary,
            thinking_chars=len(kept),
            tokens=count(kept),
            correct=verdicts,
        )
        curve.points.append(point)
        if curve.exit_index is None and point.p >= cfg.threshold:
            curve.exit_index = len(curve.points) - 1
            curve.exit_answer = answers[verdicts.index(True)]
            if cfg.stop_at_threshold:
                break
    return curve


def early_exit_trajectory(trajectory: Trajectory, curve: ProbeCurve) -> Trajectory | None:
    """Return the chosen side of an early-exit pair, or ``None`` when there is none.

    The thinking truncated at the termination point, closed, and followed by the first correct
    sampled answer (or the original answer, with ``answer="original"``). ``None`` when no boundary
    reached the threshold or the cut saves less than ``min_saved_fraction`` of the thinking.
    """
    point = curve.exit_point
    if point is None:
        return None
    cfg = ProbeConfig(**curve.config)
    total = max(1, curve.thinking_chars)
    if (total - point.thinking_chars) / total < max(cfg.min_saved_fraction, 1e-9):
        return None
    if cfg.answer == "original":
        answer, grade = trajectory.answer, trajectory.grade
        if not answer:
            return None
    else:
        answer = curve.exit_answer or ""
        grade = Grade(correct=True, score=1.0, grader=f"early_exit:{curve.grader}")
    return truncated_trajectory(
        trajectory,
        point.boundary,
        answer,
        kind="early_exit",
        grade=grade,
        metadata={"probe_model": curve.model, "early_exit_p": point.p},
        open_text=cfg.open_text,
        exit_text=cfg.exit_text,
    )
