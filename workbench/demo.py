"""The quickstart pipeline without a browser: generate, analyse, annotate, pair, export.

:func:`run_quickstart` does what ``notebooks/00_quickstart.ipynb`` does, with the same public
calls, and writes into one folder: the store (``workbench.db``), a static HTML view of a trace
(``trace.html``, every string escaped) and the DPO file (``dpo.jsonl``) with its dataset card
(``README.md``). ``workbench demo --headless --out DIR`` runs it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.backends.base import Backend
from workbench.backends.models import DEFAULT_MODEL
from workbench.errors import WorkbenchError
from workbench.segment import Segment
from workbench.trajectory import Trajectory

__all__ = [
    "DEMO_GOLD",
    "DEMO_PROMPT",
    "DemoResult",
    "choose_pair",
    "run_quickstart",
    "trace_page",
]

DEMO_PROMPT = "Tom has 5 apples and buys 3 more. How many apples does he have?"
"""The quickstart's prompt: a one-step word problem the default model gets right only sometimes."""

DEMO_GOLD = "8"
"""The correct answer to :data:`DEMO_PROMPT`."""


@dataclass
class DemoResult:
    """What :func:`run_quickstart` wrote and found.

    Attributes
    ----------
    out_dir, store, trace_html, dpo, card
        The folder and the files written in it.
    trajectory_ids
        The generated samples.
    correct
        Each sample's verdict from the math grader.
    chosen_id, rejected_id, reason
        The annotated pair and why these two were picked.
    pair_ids
        Stored pair ids (one).
    analysis, keywords
        :func:`~workbench.analysis.pipeline.analyze_store` output and keyword hits per sample.
    timings
        Seconds per step.
    """

    out_dir: Path
    store: Path
    trace_html: Path
    dpo: Path
    card: Path | None
    trajectory_ids: list[str]
    correct: list[bool | None]
    chosen_id: str
    rejected_id: str
    reason: str
    pair_ids: list[str]
    analysis: dict[str, Any] = field(default_factory=dict)
    keywords: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _rank(t: Trajectory) -> tuple[int, int, int, int]:
    correct = t.grade.correct if t.grade is not None else None
    return (
        1 if correct else 0,
        1 if t.think_format == "tags" else 0,
        1 if t.answer.strip() else 0,
        -len(t.thinking),
    )


def choose_pair(trajectories: Sequence[Trajectory]) -> tuple[Trajectory, Trajectory, str]:
    """Pick the sample to mark ``chosen`` and the one to mark ``rejected``; say why.

    The rule stands in for a researcher's judgement when nobody is at the keyboard: rank the
    samples by (graded correct, thinking closed, answer given, shorter thinking); the best is
    chosen and the worst whose text differs from it is rejected.

    Raises
    ------
    WorkbenchError
        With fewer than two samples, or when every sample is the same text.
    """
    if len(trajectories) < 2:
        raise WorkbenchError("a pair needs at least two samples: generate with n >= 2")
    ranked = sorted(trajectories, key=_rank, reverse=True)
    chosen = ranked[0]
    rejected = next((t for t in reversed(ranked) if t.raw != chosen.raw), None)
    if rejected is None:
        raise WorkbenchError(
            f"all {len(trajectories)} samples are the same text: nothing to pair; "
            "generate again with another seed or a higher temperature"
        )

    def verdict(t: Trajectory) -> str:
        if t.grade is None or t.grade.correct is None:
            return "ungraded"
        return "correct" if t.grade.correct else "incorrect"

    reason = (
        f"chosen: {verdict(chosen)}, thinking {chosen.think_format}, "
        f"{len(chosen.thinking)} thinking chars; rejected: {verdict(rejected)}, thinking "
        f"{rejected.think_format}, {len(rejected.thinking)} thinking chars"
    )
    return chosen, rejected, reason


def trace_page(
    t: Trajectory, *, segments: Sequence[Segment] = (), labels: Sequence[str] = ()
) -> str:
    """Return a standalone HTML page showing one trajectory (every string from data escaped)."""
    from workbench.display import trajectory_html

    title = html.escape(f"workbench trace {t.id} ({t.model or 'model'})", quote=True)
    body = trajectory_html(t, segments=segments, labels=labels)
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def run_quickstart(
    out_dir: str | Path,
    *,
    model: str | Backend = DEFAULT_MODEL,
    prompt: str = DEMO_PROMPT,
    gold: str | None = DEMO_GOLD,
    n: int = 4,
    max_new_tokens: int = 192,
    temperature: float = 0.8,
    seed: int | None = 0,
    lexicon: str = "r1",
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Run the quickstart pipeline and write its results into ``out_dir``.

    Steps: generate ``n`` samples with thinking on ``model`` (the default model thinks through
    its one-shot recipe), grade them against ``gold`` (math grader), segment and label the
    thinking and count reflection keywords, annotate a chosen and a rejected sample
    (:func:`choose_pair`), make a ``manual`` pair from the verdicts and export it as DPO data.

    Parameters
    ----------
    out_dir
        Created if missing; receives ``workbench.db``, ``trace.html``, ``dpo.jsonl`` and the
        dataset card ``README.md`` (``dpo.README.md`` if a README not written by workbench is
        there).
    model
        A model name or an already-built backend.
    prompt, gold
        What to ask and its correct answer (``None``: no grading).
    n, max_new_tokens, temperature, seed
        Sampling.
    lexicon
        Keyword lexicon preset.
    log
        Called with one line per step.
    """
    from workbench.analysis.grading.pipeline import grade_trajectory
    from workbench.analysis.keywords import find_keywords
    from workbench.analysis.patterns import get_taxonomy
    from workbench.analysis.pipeline import analyze_store
    from workbench.export import export_dpo
    from workbench.notebook import run_tag
    from workbench.pairs import make_pairs
    from workbench.session import Session
    from workbench.store.store import Store

    if n < 2:
        raise WorkbenchError("--n must be at least 2: a preference pair needs two samples")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    tag = run_tag("demo")
    store_path = out / "workbench.db"
    store = Store(store_path)
    session: Session | None = None
    try:
        start = time.perf_counter()
        name = model if isinstance(model, str) else model.model_name
        log(f"loading {name} …")
        session = Session(model, store=store)
        timings["load_s"] = time.perf_counter() - start
        start = time.perf_counter()
        log(f"generating {n} samples with thinking ({max_new_tokens} new tokens each) …")
        run = session.generate(
            prompt,
            n=n,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            tags=[tag],
            metadata={"demo": "quickstart"},
        )
        while not run.done:
            run.wait(5.0)
            p = run.progress()
            log(f"  {p['samples_done']}/{p['samples']} samples done, {p['tokens']} tokens, "
                f"{p['tokens_per_s']:.1f} tok/s")  # fmt: skip
        if run.status != "complete":
            raise WorkbenchError(f"generation ended with status {run.status}: {run.error}")
        ids = list(run.trajectory_ids)
        timings["generate_s"] = time.perf_counter() - start

        start = time.perf_counter()
        correct: list[bool | None] = []
        for tid in ids:
            if gold is not None:
                t = store.update(tid, gold=gold)
                grade = grade_trajectory(t, grader="math")
                if grade is not None:
                    store.update(tid, grade=grade)
                correct.append(None if grade is None else grade.correct)
            else:
                correct.append(None)
        if gold is not None:
            log(f"graded against {gold!r}: {sum(bool(c) for c in correct)}/{len(ids)} correct")
        analysis = analyze_store(store, taxonomy="dto", lexicon=lexicon, tags=tag)
        labels = ", ".join(f"{k} {v}" for k, v in analysis["labels"].items()) or "none"
        log(f"analysed: {analysis['segments']} segments ({labels}), "
            f"{analysis['keyword_hits']} keyword hits ({lexicon})")  # fmt: skip
        trajectories = [store.get(tid) for tid in ids]
        keywords = [len(find_keywords(t.thinking, lexicon=lexicon)) for t in trajectories]
        timings["analyse_s"] = time.perf_counter() - start

        start = time.perf_counter()
        chosen, rejected, reason = choose_pair(trajectories)
        store.add_annotation(chosen.id, "verdict", "chosen")
        store.add_annotation(rejected.id, "verdict", "rejected")
        store.add_annotation(chosen.id, "note", f"headless demo rule: {reason}")
        log(f"annotated {chosen.id} chosen, {rejected.id} rejected ({reason})")
        report = make_pairs(store, "manual", tags=tag)
        if not report.pair_ids:
            raise WorkbenchError(f"no pair was made: {report.skipped}")
        export = export_dpo(store, pair_ids=report.pair_ids)
        written = export.write(out / "dpo.jsonl")
        log(f"exported {written.rows} DPO row(s) to {written.path}")
        page = out / "trace.html"
        names = get_taxonomy("dto").names
        page.write_text(
            trace_page(chosen, segments=store.get_segments(chosen.id), labels=names),
            encoding="utf-8",
        )
        log(f"wrote {page}")
        timings["annotate_export_s"] = time.perf_counter() - start
        return DemoResult(
            out_dir=out,
            store=store_path,
            trace_html=page,
            dpo=written.path,
            card=written.card,
            trajectory_ids=ids,
            correct=correct,
            chosen_id=chosen.id,
            rejected_id=rejected.id,
            reason=reason,
            pair_ids=list(report.pair_ids),
            analysis=analysis,
            keywords=keywords,
            timings=timings,
        )
    finally:
        if session is not None:
            session.close()  # unloads the model, stops the worker, closes the store
        store.close()
