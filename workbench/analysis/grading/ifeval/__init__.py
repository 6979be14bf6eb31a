"""IFEval verifiable-instruction checkers (Zhou et al. 2023), implemented here.

All 25 instruction types of IFEval with the semantics of google-research's
``instruction_following_eval``; strict mode by default, the official loose mode on request.
``langdetect`` is needed for the three language checks. See :mod:`.registry` for the list and
where a definition differs from the reference code (sentence splitting, capital-word tokens).

Examples
--------
>>> from workbench.analysis.grading.ifeval import grade_ifeval
>>> r = grade_ifeval("My answer is yes.", ["detectable_format:constrained_response"], [{}])
>>> r["correct"], r["grader"]
(True, 'ifeval')
"""

from workbench.analysis.grading.ifeval.grade import check_instruction, grade_ifeval, loose_variants
from workbench.analysis.grading.ifeval.registry import INSTRUCTIONS, describe, get_checker
from workbench.analysis.grading.ifeval.text import (
    count_sentences,
    count_words,
    split_sentences,
    word_tokens,
)

__all__ = [
    "INSTRUCTIONS",
    "check_instruction",
    "count_sentences",
    "count_words",
    "describe",
    "get_checker",
    "grade_ifeval",
    "loose_variants",
    "split_sentences",
    "word_tokens",
]
