"""``detectable_content:*`` checks: square-bracket placeholders, a postscript."""

from __future__ import annotations

import re

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param
from workbench.analysis.grading.ifeval.checks_keywords import pattern

__all__ = ["CHECKERS"]

_PLACEHOLDER = re.compile(r"\[.*?\]")


def _number_placeholders(text: str, args: Args) -> bool:
    return len(_PLACEHOLDER.findall(text)) >= args.count("num_placeholders")


def _postscript(text: str, args: Args) -> bool:
    marker = args.text("postscript_marker").strip()
    if marker == "P.P.S":
        regex = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        regex = r"\s*p\.\s?s\..*$"
    else:
        regex = r"\s*" + pattern(marker.lower()) + r".*$"
    return re.search(regex, text.lower(), flags=re.MULTILINE) is not None


CHECKERS = (
    Checker(
        "detectable_content:number_placeholders",
        _number_placeholders,
        (Param("num_placeholders", "count"),),
        "At least `num_placeholders` [bracketed] placeholders (paper).",
    ),
    Checker(
        "detectable_content:postscript",
        _postscript,
        (Param("postscript_marker", "text"),),
        "Some line contains `postscript_marker` (P.S. / P.P.S spelled loosely), any case (paper).",
        differs="a marker that is not a valid regular expression is matched literally"
        " (the official code raises)",
    ),
)
