"""PairBuilder: two traces of one prompt side by side, aligned by segment; make preference pairs.

::

    PairBuilder(store, prompt_key="3fa2c1…")      # every trace of that prompt, two at a time
    PairBuilder(store, [a_id, b_id])              # these two
    compare(t1, t2)                                # read-only, no store

Keys (focused): ``a`` left is better, ``b`` right is better; each stores a ``manual`` pair.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import polars as pl
import traitlets

from workbench.analysis.patterns import Taxonomy, get_taxonomy
from workbench.analysis.pipeline import analyze_trajectory
from workbench.annotation import default_author
from workbench.errors import ValidationError
from workbench.pair import Pair
from workbench.segment import Segment
from workbench.store.store import Store
from workbench.trajectory import Trajectory, prompt_key
from workbench.widgets._base import WorkbenchWidget
from workbench.widgets._protocol import AckMsg, AlignRow, CompareMsg, CompareSide
from workbench.widgets._records import bounds_of, hit_infos, segment_info, traj_info

__all__ = ["PairBuilder", "align_segments", "compare"]


def align_segments(left: Sequence[Segment], right: Sequence[Segment]) -> list[AlignRow]:
    """Align two segment lists by their pattern labels (longest matching blocks; gaps as ``None``)."""
    a = [s.labels[0] if s.labels else "" for s in left]
    b = [s.labels[0] if s.labels else "" for s in right]
    rows: list[AlignRow] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal" or op == "replace":
            n = max(i2 - i1, j2 - j1)
            for k in range(n):
                rows.append(
                    {
                        "left": i1 + k if i1 + k < i2 else None,
                        "right": j1 + k if j1 + k < j2 else None,
                    }
                )
        elif op == "delete":
            rows.extend({"left": i, "right": None} for i in range(i1, i2))
        else:
            rows.extend({"left": None, "right": j} for j in range(j1, j2))
    return rows


class PairBuilder(WorkbenchWidget):
    """Compare two trajectories of one prompt and store which one is better.

    Parameters
    ----------
    store
        Where pairs are stored and trajectories read (``None``: compare only).
    trajectories
        Candidates: ids, trajectories or a ``store.list`` frame (all of one prompt). Default:
        every stored trajectory of ``prompt_key``.
    prompt_key
        The prompt whose trajectories are the candidates.
    left, right
        Candidates shown first.
    taxonomy
        Pattern taxonomy for trajectories without stored segments.
    author
        Recorded in each pair's provenance.
    """

    _view = traitlets.Unicode("compare").tag(sync=True)

    def __init__(
        self,
        store: Store | None,
        trajectories: Any = None,
        *,
        prompt_key: str | None = None,
        left: int = 0,
        right: int = 1,
        taxonomy: str | Taxonomy = "dto",
        author: str | None = None,
        height: int = 460,
    ) -> None:
        super().__init__(height=height)
        self.store = store
        self.taxonomy = get_taxonomy(taxonomy)
        self.author = author or default_author()
        self.candidates = self._candidates(trajectories, prompt_key)
        keys = {prompt_key_of(t) for t in self.candidates}
        if len(keys) != 1:
            raise ValidationError("PairBuilder.trajectories", "give trajectories of one prompt")
        self.prompt_key = keys.pop()
        if len(self.candidates) < 2:
            raise ValidationError("PairBuilder.trajectories", "need at least two trajectories")
        self.left, self.right = left % len(self.candidates), right % len(self.candidates)
        self.pairs: list[Pair] = []
        self._segments: dict[str, list[Segment]] = {}

    def _candidates(self, items: Any, key: str | None) -> list[Trajectory]:
        if items is None:
            if self.store is None or key is None:
                raise ValidationError(
                    "PairBuilder", "give trajectories, or a store and a prompt_key"
                )
            items = self.store.list_trajectories(columns=["id"], prompt_key=key)["id"].to_list()
        elif isinstance(items, pl.DataFrame):
            items = items["id"].to_list()
        out = []
        for item in items:
            if isinstance(item, Trajectory):
                out.append(item)
            elif self.store is not None:
                out.append(self.store.get(str(item)))
            else:
                raise ValidationError("PairBuilder", "ids need a store")
        return out

    def segments(self, t: Trajectory) -> list[Segment]:
        """Return a trajectory's stored segments, or analyse it."""
        if t.id not in self._segments:
            stored = (
                self.store.get_segments(t.id)
                if self.store is not None and t.id in self.store
                else []
            )
            self._segments[t.id] = stored or analyze_trajectory(t, taxonomy=self.taxonomy)
        return self._segments[t.id]

    def _side(self, t: Trajectory) -> CompareSide:
        segs = self.segments(t)
        return {
            "info": traj_info(t),
            "text": t.raw,
            "bounds": bounds_of(t),
            "segments": [segment_info(s) for s in segs],
            "hits": hit_infos(segs),
        }

    def _pair_text(self) -> str | None:
        a, b = self.candidates[self.left].id, self.candidates[self.right].id
        for p in self.pairs:
            if {p.chosen_id, p.rejected_id} == {a, b}:
                return f"stored: chosen {p.chosen_id}, rejected {p.rejected_id}"
        return None

    def message(self, view: str = "") -> CompareMsg:
        """Build the compare message for the two trajectories shown."""
        lt, rt = self.candidates[self.left], self.candidates[self.right]
        return {
            "type": "compare",
            "view": view,
            "prompt": lt.prompt_text,
            "left": self._side(lt),
            "right": self._side(rt),
            "rows": align_segments(self.segments(lt), self.segments(rt)),
            "candidates": [traj_info(t) for t in self.candidates],
            "left_index": self.left,
            "right_index": self.right,
            "labels": list(self.taxonomy.names),
            "pair": self._pair_text(),
        }

    def choose(self, side: str) -> Pair:
        """Store a ``manual`` pair: ``side`` (``"left"``/``"right"``) chosen, the other rejected."""
        if side not in ("left", "right"):
            raise ValidationError("PairBuilder.chosen", "use 'left' or 'right'")
        if self.store is None:
            raise ValidationError("PairBuilder.store", "no store to write pairs to")
        if self.left == self.right:
            raise ValidationError("PairBuilder", "both sides show the same trajectory")
        lt, rt = self.candidates[self.left], self.candidates[self.right]
        chosen, rejected = (lt, rt) if side == "left" else (rt, lt)
        pair = Pair(
            prompt_key=self.prompt_key,
            chosen_id=chosen.id,
            rejected_id=rejected.id,
            strategy="manual",
            provenance={"author": self.author, "via": "PairBuilder"},
        )
        pair.id = self.store.add_pair(pair)
        self.pairs = [p for p in self.pairs if {p.chosen_id, p.rejected_id} != {lt.id, rt.id}]
        self.pairs.append(pair)
        return pair

    def _on_ready(self, msg: dict[str, Any]) -> None:
        self.send_message(self.message(msg["view"]))

    def _on_pick(self, msg: dict[str, Any]) -> None:
        index = msg["index"] % len(self.candidates)
        if msg["side"] == "left":
            self.left = index
        elif msg["side"] == "right":
            self.right = index
        else:
            raise ValidationError("PairBuilder.side", "use 'left' or 'right'")
        self.send_message(self.message(""))

    def _on_choose(self, msg: dict[str, Any]) -> None:
        try:
            pair = self.choose(msg["chosen"])
            ack: AckMsg = {
                "type": "ack",
                "request_id": msg["request_id"],
                "ok": True,
                "message": f"stored pair {pair.id}: chosen {pair.chosen_id}, rejected {pair.rejected_id}",
            }
        except Exception as exc:
            ack = {
                "type": "ack",
                "request_id": msg["request_id"],
                "ok": False,
                "message": f"not stored: {exc}",
            }
        self.send_message(ack)


def prompt_key_of(t: Trajectory) -> str:
    """Return the key that groups trajectories of one prompt."""
    return prompt_key(t.prompt)


def compare(a: Trajectory, b: Trajectory, *, store: Store | None = None) -> PairBuilder:
    """Show two trajectories side by side (with a store, the buttons store pairs)."""
    return PairBuilder(store, [a, b])
