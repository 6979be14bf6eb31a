"""``detectable_format:*`` checks: answer options, JSON, sections, bullets, highlights, title."""

from __future__ import annotations

import json
import re

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param
from workbench.analysis.grading.ifeval.checks_keywords import pattern

__all__ = ["CHECKERS", "CONSTRAINED_RESPONSE_OPTIONS"]

CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", flags=re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", flags=re.MULTILINE)
_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT = re.compile(r"\*\*[^\n\*]*\*\*")
_TITLE = re.compile(r"<<[^\n]+>>")


def _constrained_response(text: str, args: Args) -> bool:
    text = text.strip()
    return any(option in text for option in CONSTRAINED_RESPONSE_OPTIONS)


def _json_format(text: str, args: Args) -> bool:
    body = text.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(prefix)
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _multiple_sections(text: str, args: Args) -> bool:
    splitter = pattern(args.text("section_spliter").strip())
    sections = re.split(r"\s?" + splitter + r"\s?\d+\s?", text)
    return len(sections) - 1 >= args.count("num_sections")


def _number_bullet_lists(text: str, args: Args) -> bool:
    found = len(_STAR_BULLET.findall(text)) + len(_DASH_BULLET.findall(text))
    return found == args.count("num_bullets")


def _number_highlighted_sections(text: str, args: Args) -> bool:
    found = sum(1 for h in _HIGHLIGHT.findall(text) if h.strip("*").strip())
    found += sum(
        1
        for h in _DOUBLE_HIGHLIGHT.findall(text)
        if h.removeprefix("**").removesuffix("**").strip()
    )
    return found >= args.count("num_highlights")


def _title(text: str, args: Args) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in _TITLE.findall(text))


CHECKERS = (
    Checker(
        "detectable_format:constrained_response",
        _constrained_response,
        (),
        "Contains 'My answer is yes.', 'My answer is no.' or 'My answer is maybe.' (paper).",
    ),
    Checker(
        "detectable_format:json_format",
        _json_format,
        (),
        "The whole response, less a ``` / ```json fence, parses as JSON (paper).",
    ),
    Checker(
        "detectable_format:multiple_sections",
        _multiple_sections,
        (Param("section_spliter", "text"), Param("num_sections", "count")),
        "At least `num_sections` markers '<section_spliter> <number>' (case-sensitive) (paper).",
        differs="a splitter that is not a valid regular expression is matched literally"
        " (official: raises)",
    ),
    Checker(
        "detectable_format:number_bullet_lists",
        _number_bullet_lists,
        (Param("num_bullets", "count"),),
        "Exactly `num_bullets` lines starting with '* ' or '-' (markdown bullets) (paper).",
    ),
    Checker(
        "detectable_format:number_highlighted_sections",
        _number_highlighted_sections,
        (Param("num_highlights", "count"),),
        "At least `num_highlights` non-blank *highlighted* or **bold** spans on one line (paper).",
    ),
    Checker(
        "detectable_format:title",
        _title,
        (),
        "Contains a non-blank title in double angular brackets, <<title>>, on one line (paper).",
    ),
)
