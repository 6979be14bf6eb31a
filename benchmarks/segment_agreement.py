"""Agreement of our thinking-pattern labels with two peers' labels on real traces.

Data (``../shared/data/external``, or ``$WORKBENCH_EXTERNAL_DATA``, or ``--data``)
----------------------------------------------------------------------------------
``steering_venhoff``
    ``steering_thinking_llms_annotated/annotated.jsonl`` (Venhoff et al., arXiv 2506.18167): the
    five R1-distill reasoning models' traces; the two non-reasoning baselines
    (``qwen2.5-14b-instruct``, ``llama-3.1-8b-instruct``) have no thinking and are left out.
    Peer sections come from ``annotated_response`` (:func:`parse_steering_annotations`), groups
    are ``prompt_index``, our taxonomy preset is ``venhoff``.
``pmllm``
    ``pm_llm_benchmark_traces/traces.jsonl`` joined on ``id`` with
    ``pmllmbench_reasoning_steps/steps.jsonl``; a step ``{"Name": "<Type> - <Effect>", "Text"}``
    is the section ``(Type, Text)``; groups are ``question_id``; our preset is ``pmllm``. Traces
    without steps are left out.

What is done
------------
1. The trace file is imported into a temporary store with :func:`workbench.import_file`, and
   every trajectory is read back from the store and segmented with the default
   :func:`workbench.analysis._segment.segment` (``cues``).
2. Peer sections are located in the trajectory's raw text from the start of the thinking with
   :func:`workbench.analysis.peers.align_sections` (normalised, order-preserving search), and
   each segment takes the label of the aligned section it overlaps most
   (:func:`peer_labels_for_segments`). Segments that overlap no section are not *aligned* and are
   not scored.
3. When a data set has more aligned segments than ``--max-segments`` (default 4,000, to keep the
   run under ~10 minutes on two busy CPU cores), whole traces are sampled (:func:`sample_traces`,
   seeded with ``--seed``) so that every question keeps about the same share of its traces:
   all questions stay in the sample and in the folds, and each sampled trace keeps all its
   segments (its neighbours are there for the ``context`` features).
4. Scored on the (sampled) aligned segments, against the peer label:

   ``rule``
       :func:`rule_label` with the data set's taxonomy preset (no training).
   ``model``
       :class:`ModelLabeller` with its defaults (MiniLM embeddings, each segment embedded once
       with ``.embed``; L2 ``1e-3``, balanced class weights), cross-validated over
       ``--folds`` folds grouped by question: the sorted groups are dealt round-robin to the
       folds, each fold is predicted by a labeller fitted on the other folds, and the pooled
       predictions are scored.
   ``majority``
       The most frequent peer label of the training folds, predicted for the test fold (pooled
       like ``model``).
   ``model_variants``
       The same cross-validation for other settings (:data:`VARIANTS`): class weights off,
       other L2 penalties, and ``context_position`` features (the segment's embedding, the
       previous and next segments' embeddings, zeros at the ends, a one-hot of the segment's
       relative position in five bins and a first-segment flag), still fed to
       :meth:`ModelLabeller.fit` as ``features``. They show how much the settings matter, not
       which to pick: a setting chosen for its score on these folds is scored optimistically.

   Each report has ``n``, ``accuracy``, ``macro_f1`` (over the peer labels present) and
   ``kappa`` (Cohen's); ``per_label_f1`` breaks down ``rule`` and ``model``.

   ``finetuned`` (with ``--finetune-folds K``)
       The fine-tuned labeller (:class:`workbench.analysis.FineTunedLabeller`, preset
       ``--finetune-preset``), trained on the peer's labelled sections of the traces of the
       other folds (same question folds as ``model``, on *all* traces, not the sample; as
       ``workbench labeller train --peer`` does) and scored on the first ``K`` test folds,
       pooled, as ``workbench labeller score`` does: on the peer's sections (``kappa``), on our
       segments (``segment_kappa``) and per section by the vote of its segments' probabilities
       (``step_kappa``). ``train_seconds`` is the training time of each fold: minutes per fold
       on two CPU cores with the ``default`` preset, seconds with ``lexical``.

Diagnostics
-----------
``rule_all_aligned``
    The rule labeller on every aligned segment, before the cap.
``rule_on_peer_sections``
    The rule labeller on the peers' own sections (the aligned raw text of each), i.e. without
    our segmenter: how much of the disagreement is the rules' and how much the segmentation's.
``mean_section_chars``, ``mean_segment_chars``
    Granularity of the peers' sections and of our aligned segments.
``label_purity_mean``, ``label_purity_one_label_share``
    Of a segment's characters inside peer sections, the share inside sections with the label it
    was given (mean over aligned segments), and the share of segments where that is all of them.
    A segment that straddles sections with different labels cannot agree fully with the peer.

Usage
-----
``python benchmarks/segment_agreement.py --json`` prints one JSON object
``{"datasets": {"steering_venhoff": {...}, "pmllm": {...}}, "seconds": ..., ...}``; progress goes
to stderr. Without ``--json`` a short table is printed. Embedding is the slow part (MiniLM on
two CPU cores: about 30-250 segments per second, depending on their length and on what else runs);
texts are embedded shortest first, which pads less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench import Store, Trajectory, import_file
from workbench.analysis._segment import segment
from workbench.analysis.agreement import agreement_report, macro_f1, majority_baseline
from workbench.analysis.labeller import ModelLabeller
from workbench.analysis.patterns import get_taxonomy, rule_label
from workbench.analysis.peers import (
    align_sections,
    parse_steering_annotations,
    peer_labels_for_segments,
)

REPO = Path(__file__).resolve().parents[1]
BASELINE_MODELS = ("qwen2.5-14b-instruct", "llama-3.1-8b-instruct")
DEFAULT_MAX_SEGMENTS = 4000
DEFAULT_FOLDS = 5
DEFAULT_SEED = 0
POSITION_BINS = 5
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "unbalanced_l2_1e-3": ("text", {"class_weight": None, "l2": 1e-3}),
    "balanced_l2_1e-4": ("text", {"l2": 1e-4}),
    "balanced_l2_1e-5": ("text", {"l2": 1e-5}),
    "balanced_l2_1e-2": ("text", {"l2": 1e-2}),
    "context_position_l2_1e-3": ("context", {"l2": 1e-3}),
    "context_position_l2_1e-4": ("context", {"l2": 1e-4}),
}
"""Other labeller settings: ``(features, ModelLabeller keyword arguments)``."""


def log(message: str) -> None:
    print(f"[bench-agreement] {message}", file=sys.stderr, flush=True)


@dataclass
class Trace:
    """All segments of one trace, in order, with their peer labels (``None``: not aligned)."""

    group: Hashable
    texts: list[str]
    labels: list[str | None]
    purity: list[float]

    @property
    def n_aligned(self) -> int:
        return sum(label is not None for label in self.labels)


@dataclass
class Dataset:
    """The segmented traces of one data set, the peers' aligned sections, and counts."""

    traces: list[Trace] = field(default_factory=list)
    section_texts: list[str] = field(default_factory=list)
    section_labels: list[str] = field(default_factory=list)
    sections: int = 0

    def add(self, trajectory: Trajectory, sections: list[tuple[str, str]], group: Any) -> None:
        spans = align_sections(trajectory.raw, sections, start=trajectory.thinking_span[0])
        segs = segment(trajectory)
        self.sections += len(sections)
        for s, e, label in spans:
            self.section_texts.append(trajectory.raw[s:e])
            self.section_labels.append(label)
        labels = peer_labels_for_segments(segs, spans)
        purity = [
            label_purity(seg.char_span, label, spans) if label is not None else 0.0
            for seg, label in zip(segs, labels, strict=True)
        ]
        self.traces.append(Trace(group, [seg.text for seg in segs], labels, purity))

    def aligned(self) -> list[tuple[int, int]]:
        """``(trace, segment)`` indices of the aligned segments."""
        return [
            (ti, i)
            for ti, t in enumerate(self.traces)
            for i, label in enumerate(t.labels)
            if label is not None
        ]


def label_purity(span: tuple[int, int], label: str, spans: Sequence[tuple[int, int, str]]) -> float:
    """Share of a segment's peer-covered characters that carry ``label``."""
    covered = same = 0
    for s, e, lab in spans:
        overlap = max(0, min(span[1], e) - max(span[0], s))
        covered += overlap
        same += overlap if lab == label else 0
    return same / covered if covered else 0.0


def per_label_f1(y: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    return {c: round(macro_f1(y, pred, labels=[c]), 4) for c in sorted(set(y))}


def steering_traces(store: Store) -> Iterator[tuple[Trajectory, list[tuple[str, str]], Any]]:
    for t in store.iter_trajectories():
        if t.model in BASELINE_MODELS or not t.thinking.strip():
            continue
        sections = parse_steering_annotations(t.metadata["annotated_response"])
        yield t, sections, t.metadata["prompt_index"]


def pmllm_traces(
    store: Store, steps_path: Path
) -> Iterator[tuple[Trajectory, list[tuple[str, str]], Any]]:
    steps = {}
    with steps_path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                steps[record["id"]] = record["steps"]
    for t in store.iter_trajectories():
        if t.source_id not in steps:
            continue
        sections = [(s["Name"].split(" - ")[0].strip(), s["Text"]) for s in steps[t.source_id]]
        yield t, sections, t.metadata["question_id"]


def sample_traces(traces: Sequence[Trace], max_segments: int | None, seed: int) -> list[int]:
    """Indices of whole traces holding at most ``max_segments`` aligned segments.

    Each question's traces with aligned segments are shuffled (seeded) and the traces of all
    questions are taken in rounds by their rank's share of the question (ties in seeded random
    order), so every question keeps about the same share of its traces; a trace that would
    overshoot the cap is skipped.
    """
    sizes = [t.n_aligned for t in traces]
    if max_segments is None or sum(sizes) <= max_segments:
        return list(range(len(traces)))
    rng = random.Random(seed)
    members: dict[Hashable, list[int]] = {}
    for ti, t in enumerate(traces):
        if sizes[ti]:
            members.setdefault(t.group, []).append(ti)
    keyed: list[tuple[float, float, int]] = []
    for g in sorted(members, key=str):
        order = members[g]
        rng.shuffle(order)
        keyed.extend(((rank + 0.5) / len(order), rng.random(), ti) for rank, ti in enumerate(order))
    chosen, total = [], 0
    for *_, ti in sorted(keyed):
        if total + sizes[ti] <= max_segments:
            chosen.append(ti)
            total += sizes[ti]
    return sorted(chosen)


def group_folds(groups: Sequence[Hashable], k: int) -> list[int]:
    """Fold of each item: the sorted distinct groups are dealt round-robin to ``k`` folds."""
    order = sorted(set(groups), key=lambda g: (str(type(g)), g))
    fold_of = {g: i % k for i, g in enumerate(order)}
    return [fold_of[g] for g in groups]


def embed_sorted(labeller: ModelLabeller, texts: Sequence[str], *, chunk: int = 1024) -> np.ndarray:
    """Embed texts shortest first (less padding per batch), returned in the original order."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    parts = []
    start = time.perf_counter()
    for lo in range(0, len(order), chunk):
        parts.append(labeller.embed([texts[i] for i in order[lo : lo + chunk]]))
        done = min(lo + chunk, len(order))
        log(f"  embedded {done}/{len(texts)} ({done / (time.perf_counter() - start):.0f}/s)")
    result = np.zeros((len(texts), parts[0].shape[1] if parts else 0), dtype=np.float32)
    if parts:
        result[order] = np.concatenate(parts)
    return result


def features(
    traces: Sequence[Trace], rows: Sequence[tuple[int, int]], embedder: ModelLabeller
) -> dict[str, np.ndarray]:
    """``text``: each row's embedding; ``context``: with its neighbours' and its position.

    Only the rows' segments and their immediate neighbours are embedded, each once.
    """
    wanted: dict[tuple[int, int], int] = {}
    for ti, i in rows:
        for j in (i - 1, i, i + 1):
            if 0 <= j < len(traces[ti].texts):
                wanted.setdefault((ti, j), len(wanted))
    keys = list(wanted)
    log(f"  embedding {len(rows)} segments and {len(keys) - len(rows)} neighbours")
    emb = embed_sorted(embedder, [traces[ti].texts[j] for ti, j in keys])
    zero = np.zeros(emb.shape[1], dtype=np.float32)

    def at(ti: int, j: int) -> np.ndarray:
        return emb[wanted[(ti, j)]] if (ti, j) in wanted else zero

    text = np.stack([at(ti, i) for ti, i in rows])
    prev = np.stack([at(ti, i - 1) for ti, i in rows])
    nxt = np.stack([at(ti, i + 1) for ti, i in rows])
    position = np.zeros((len(rows), POSITION_BINS + 1), dtype=np.float32)
    for r, (ti, i) in enumerate(rows):
        share = i / max(1, len(traces[ti].texts) - 1)
        position[r, min(POSITION_BINS - 1, int(share * POSITION_BINS))] = 1.0
        position[r, POSITION_BINS] = float(i == 0)
    return {"text": text, "context": np.hstack([text, prev, nxt, position])}


def cross_validate(
    labels: Sequence[str],
    folds: Sequence[int],
    k: int,
    predict: Callable[[np.ndarray, np.ndarray], list[str]],
) -> list[str]:
    """Pooled out-of-fold predictions: ``predict(train_idx, test_idx)`` per fold."""
    fold_arr = np.asarray(folds)
    pred: list[str] = [""] * len(labels)
    for f in range(k):
        test = np.flatnonzero(fold_arr == f)
        train = np.flatnonzero(fold_arr != f)
        if not len(test):
            continue
        for i, p in zip(test, predict(train, test), strict=True):
            pred[int(i)] = p
    return pred


def rounded(report: dict[str, float]) -> dict[str, float]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.items()}


def run_dataset(
    name: str,
    data: Dataset,
    *,
    taxonomy: str,
    embedder: ModelLabeller,
    max_segments: int | None,
    folds: int,
    seed: int,
    timings: dict[str, float],
) -> dict[str, Any]:
    tax = get_taxonomy(taxonomy)
    traces = data.traces
    aligned = data.aligned()
    all_y = [str(traces[ti].labels[i]) for ti, i in aligned]
    all_rule = [rule_label(traces[ti].texts[i], taxonomy=tax).label for ti, i in aligned]
    section_rule = [rule_label(t, taxonomy=tax).label for t in data.section_texts]

    chosen = set(sample_traces(traces, max_segments, seed))
    keep = [r for r, (ti, _) in enumerate(aligned) if ti in chosen]
    rows = [aligned[r] for r in keep]
    y = [all_y[r] for r in keep]
    rule = [all_rule[r] for r in keep]
    fold = group_folds([traces[ti].group for ti, _ in rows], folds)

    log(f"{name}: {len(rows)} segments of {len(chosen)} traces scored")
    t0 = time.perf_counter()
    x = features(traces, rows, embedder)
    timings[f"{name}_embed_s"] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    y_arr = np.asarray(y, dtype=object)

    def model_predict(
        feats: np.ndarray, settings: dict[str, Any]
    ) -> Callable[[np.ndarray, np.ndarray], list[str]]:
        def predict(train: np.ndarray, test: np.ndarray) -> list[str]:
            labeller = ModelLabeller(**settings)
            labeller.fit(None, list(y_arr[train]), features=feats[train])
            return labeller.predict(features=feats[test])

        return predict

    def majority_predict(train: np.ndarray, test: np.ndarray) -> list[str]:
        return majority_baseline(list(y_arr[train]), len(test))

    model = cross_validate(y, fold, folds, model_predict(x["text"], {}))
    majority = cross_validate(y, fold, folds, majority_predict)
    variants = {
        v: rounded(agreement_report(y, cross_validate(y, fold, folds, model_predict(x[f], s))))
        for v, (f, s) in VARIANTS.items()
    }
    timings[f"{name}_cv_s"] = round(time.perf_counter() - t0, 1)

    purity = [traces[ti].purity[i] for ti, i in aligned]
    n_sections_aligned = len(data.section_labels)
    return {
        "taxonomy": taxonomy,
        "traces": len(traces),
        "groups": len({t.group for t in traces}),
        "sections": data.sections,
        "sections_aligned": n_sections_aligned,
        "section_alignment_rate": round(n_sections_aligned / max(1, data.sections), 4),
        "n_segments": sum(len(t.texts) for t in traces),
        "n_aligned": len(aligned),
        "max_segments": max_segments,
        "n_scored": len(y),
        "traces_scored": len(chosen),
        "groups_scored": len({traces[ti].group for ti in chosen}),
        "folds": folds,
        "seed": seed,
        "peer_labels_not_in_taxonomy": sorted(set(all_y) - set(tax.names)),
        "label_counts": dict(Counter(y).most_common()),
        "rule": rounded(agreement_report(y, rule)),
        "model": rounded(agreement_report(y, model)),
        "majority": rounded(agreement_report(y, majority)),
        "model_variants": variants,
        "rule_all_aligned": rounded(agreement_report(all_y, all_rule)),
        "rule_on_peer_sections": rounded(agreement_report(data.section_labels, section_rule)),
        "per_label_f1": {"rule": per_label_f1(y, rule), "model": per_label_f1(y, model)},
        "mean_section_chars": round(float(np.mean([len(t) for t in data.section_texts])), 1),
        "mean_segment_chars": round(
            float(np.mean([len(traces[ti].texts[i]) for ti, i in aligned])), 1
        ),
        "label_purity_mean": round(float(np.mean(purity)), 4),
        "label_purity_one_label_share": round(float(np.mean(np.equal(purity, 1.0))), 4),
        "majority_label": Counter(y).most_common(1)[0][0] if y else None,
    }


def finetune_cv(
    peer: str, path: Path, steps: Path | None, *, folds: int, run_folds: int, preset: str
) -> dict[str, Any]:
    """Grouped cross-validation of the fine-tuned labeller on the first ``run_folds`` folds."""
    from workbench.analysis._finetuned import FineTunedLabeller
    from workbench.analysis._labeller_score import (
        agreement_scores,
        merge_predictions,
        predictions,
    )
    from workbench.analysis._peer_data import PEERS, load_peer

    traces = load_peer(peer, path, steps=steps)
    fold = group_folds([t.group for t in traces], folds)
    seconds = []
    scores = []
    pooled = []
    for f in range(min(run_folds, folds)):
        train = [t for t, k in zip(traces, fold, strict=True) if k != f]
        test = [t for t, k in zip(traces, fold, strict=True) if k == f]
        log(f"{peer}: training fold {f + 1} on {len(train)} traces, testing {len(test)}")
        t0 = time.perf_counter()
        labeller = FineTunedLabeller.train(
            # the units the peer labelled, as `workbench labeller train --peer` does
            [(t.section_texts, t.section_labels, t.group) for t in train],
            taxonomy=PEERS[peer],
            preset=preset,
            progress=False,
            log=log,
        )
        seconds.append(round(time.perf_counter() - t0, 1))
        fold_preds = predictions(labeller, test)
        pooled.append(fold_preds)
        scores.append(
            {
                **agreement_scores(fold_preds),
                "lexical_weight": labeller.lexical_weight,
                "train_seconds": seconds[-1],
            }
        )
    preds = merge_predictions(pooled)
    return {
        **agreement_scores(preds),
        "folds_run": len(seconds),
        "folds": folds,
        "preset": preset,
        "train_seconds": seconds,
        "per_fold": scores,
        "per_label_f1": per_label_f1(*preds["section"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--data", type=Path, default=None, help="the external data folder")
    parser.add_argument(
        "--max-segments",
        type=int,
        default=DEFAULT_MAX_SEGMENTS,
        help="cap on aligned segments scored per data set (whole traces, seeded); 0: no cap",
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--finetune-folds",
        type=int,
        default=0,
        help="also cross-validate the fine-tuned labeller on this many folds (slow; 0: no)",
    )
    parser.add_argument(
        "--finetune-preset", default="default", help="default, quick, lexical, thorough"
    )
    args = parser.parse_args()
    env = os.environ.get("WORKBENCH_EXTERNAL_DATA")
    data = args.data or (Path(env) if env else REPO.parent / "shared" / "data" / "external")
    if not data.is_dir():
        sys.exit(f"external data not found at {data}: use --data or $WORKBENCH_EXTERNAL_DATA")
    cap = args.max_segments or None

    start = time.perf_counter()
    timings: dict[str, float] = {}
    embedder = ModelLabeller()
    results: dict[str, Any] = {}
    steps_path = data / "pmllmbench_reasoning_steps" / "steps.jsonl"
    plans: list[tuple[str, str, Path, Callable[[Store], Iterator[Any]]]] = [
        (
            "steering_venhoff",
            "venhoff",
            data / "steering_thinking_llms_annotated" / "annotated.jsonl",
            steering_traces,
        ),
        (
            "pmllm",
            "pmllm",
            data / "pm_llm_benchmark_traces" / "traces.jsonl",
            lambda store: pmllm_traces(store, steps_path),
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, taxonomy, path, traces in plans:
            t0 = time.perf_counter()
            dataset = Dataset()
            with Store(Path(tmp) / f"{name}.db") as store:
                report = import_file(store, path)
                log(f"{name}: imported {report.imported} traces from {path.name}")
                for trajectory, sections, group in traces(store):
                    dataset.add(trajectory, sections, group)
            timings[f"{name}_import_align_s"] = round(time.perf_counter() - t0, 1)
            log(
                f"{name}: {len(dataset.section_labels)}/{dataset.sections} sections aligned, "
                f"{len(dataset.aligned())}/{sum(len(t.texts) for t in dataset.traces)} "
                "segments labelled"
            )
            results[name] = run_dataset(
                name,
                dataset,
                taxonomy=taxonomy,
                embedder=embedder,
                max_segments=cap,
                folds=args.folds,
                seed=args.seed,
                timings=timings,
            )
            if args.finetune_folds:
                t0 = time.perf_counter()
                results[name]["finetuned"] = finetune_cv(
                    "venhoff" if taxonomy == "venhoff" else "pmllm",
                    path,
                    None if taxonomy == "venhoff" else steps_path,
                    folds=args.folds,
                    run_folds=args.finetune_folds,
                    preset=args.finetune_preset,
                )
                timings[f"{name}_finetune_s"] = round(time.perf_counter() - t0, 1)

    out = {
        "datasets": results,
        "seconds": round(time.perf_counter() - start, 1),
        "timings": timings,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{'data set':<18} {'labeller':<9} {'n':>6} {'acc':>6} {'macroF1':>8} {'kappa':>6}")
    for name, res in results.items():
        for who in ("rule", "model", "majority", "finetuned"):
            if who not in res:
                continue
            r = res[who]
            print(
                f"{name:<18} {who:<9} {r['n']:>6} {r['accuracy']:>6.3f} "
                f"{r['macro_f1']:>8.3f} {r['kappa']:>6.3f}"
            )
    print(f"{out['seconds']} s")


if __name__ == "__main__":
    main()
