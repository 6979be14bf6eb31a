"""``startend:*`` checks: the end phrase, wrapping in double quotes."""

from __future__ import annotations

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param

__all__ = ["CHECKERS"]


def _end_checker(text: str, args: Args) -> bool:
    ending = text.strip().strip('"').lower()
    return ending.endswith(args.text("end_phrase").strip().lower())


def _quotation(text: str, args: Args) -> bool:
    text = text.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


CHECKERS = (
    Checker(
        "startend:end_checker",
        _end_checker,
        (Param("end_phrase", "text"),),
        "The response, stripped of whitespace and double quotes, ends with `end_phrase`,"
        " ignoring case (paper).",
    ),
    Checker(
        "startend:quotation",
        _quotation,
        (),
        "The stripped response starts and ends with a double quote (paper).",
    ),
)
