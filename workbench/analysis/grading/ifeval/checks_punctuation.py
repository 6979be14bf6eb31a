"""``punctuation:*`` checks."""

from __future__ import annotations

from workbench.analysis.grading.ifeval._spec import Args, Checker

__all__ = ["CHECKERS"]


def _no_comma(text: str, args: Args) -> bool:
    return "," not in text


CHECKERS = (
    Checker(
        "punctuation:no_comma",
        _no_comma,
        (),
        "No ASCII comma anywhere in the response (paper).",
    ),
)
