"""The annotation key sequence both front ends are driven with, and what it must store.

The Annotator widget (``test_jupyterlab.py``) and the extension's trajectory viewer
(``test_extension.py``) share one key map (``js/src/keys.ts``); both browser tests press the
same keys here and check the same annotations in the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench import Store
from workbench.analysis.patterns import get_taxonomy

NOTE = "checks the carry <b>twice</b>"
"""The note typed on segment 2 (markup, to check it is shown as text)."""

KINDS = ["label", "rating", "verdict", "note", "verdict", "verdict"]
"""The kinds the sequence stores, in order (the undo writes the previous verdict back)."""


def press(page: Any, root: Any, key: str, history: int | None = None) -> None:
    """Press ``key``; with ``history``, wait until ``root`` lists that many history items."""
    page.keyboard.press(key)
    if history is not None:
        page.wait_for_function(
            f"el => el.querySelectorAll('.wb-history-item').length >= {history}",
            arg=root.element_handle(),
            timeout=15_000,
        )


def annotate_with_keys(page: Any, root: Any) -> None:
    """Segment 2: label 2 and a note; the trajectory: rating 4, chosen, rejected, undo."""
    press(page, root, "j")
    press(page, root, "j")
    press(page, root, "2", history=1)  # label on segment 2
    press(page, root, "r")
    press(page, root, "4", history=2)  # rating 4
    press(page, root, "c", history=3)  # chosen
    press(page, root, "n")
    page.keyboard.type(NOTE)
    press(page, root, "Enter", history=4)
    press(page, root, "x", history=5)  # rejected
    press(page, root, "u", history=6)  # undo: chosen again


def check_stored(store_path: Path, tid: str) -> None:
    """Assert that the store holds what :func:`annotate_with_keys` wrote, by the test author."""
    with Store(store_path, readonly=True) as store:
        segs = store.get_segments(tid)  # stored by the first segment annotation
        latest = {
            (a.segment_id, a.kind): a.value for a in store.get_annotations(tid, history=False)
        }
        history = store.get_annotations(tid, history=True)
    labels = get_taxonomy("dto").names
    assert latest[(segs[2].id, "label")] == labels[1]
    assert latest[(None, "rating")] == 4
    assert latest[(None, "verdict")] == "chosen"
    assert latest[(segs[2].id, "note")] == NOTE
    assert [a.kind for a in history] == KINDS
    assert {a.author for a in history} == {"browser-test"}
