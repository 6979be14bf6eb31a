"""Thinking-pattern taxonomies and the rule-based labeller.

A :class:`Taxonomy` is a list of :class:`PatternLabel`, each with cue rules that are plain regular
expressions, visible and editable: ``opening`` rules are matched at the start of a segment (worth
:data:`OPENING_WEIGHT` points), ``anywhere`` rules anywhere in it (1 point per match, at most
:data:`MAX_ANYWHERE` per rule). The label with the most points wins (ties: the earlier label); a
segment that matches nothing gets the taxonomy's ``default`` label with confidence 0. Confidence is
the winner's share of all points.

Rules are compiled with ``re.IGNORECASE | re.ASCII``: ``\\b``, ``\\w``, ``\\d`` and ``\\s`` are
ASCII classes and only the ASCII letters A-Z fold case, so "wait了" opens with "wait" and a rule
reads the same bytes whatever the script around it. A rule that can match the empty string (its
shortest match has no characters) is rejected when the label is defined: it would count a match
at every position. These definitions let the columnar engine (:mod:`workbench.analysis.corpus`)
reproduce every label exactly.

Presets (:data:`TAXONOMIES`): the label *sets* follow the cited papers; every cue rule is ours.

``dto`` (default)
    DTO-style patterns (arXiv 2505.21765 describes hypothesis generation, self-verification,
    summarisation, exploration; the set here is ours): problem_understanding, planning,
    computation, verification, backtracking, exploration, uncertainty, conclusion.
``thought_anchors``
    Thought Anchors' 8 tags (arXiv 2506.19143).
``venhoff``
    Venhoff et al.'s 6 behaviours (arXiv 2506.18167).
``pmllm``
    pm-llm-benchmark's 10 reasoning types (the ``pmllmbench_reasoning_steps`` data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from re import _parser as sre_parse  # type: ignore[attr-defined]

from workbench.segment import Segment

__all__ = [
    "FLAGS",
    "MAX_ANYWHERE",
    "OPENING_PREFIX",
    "OPENING_WEIGHT",
    "TAXONOMIES",
    "PatternLabel",
    "RuleLabel",
    "Taxonomy",
    "get_taxonomy",
    "label_segments",
    "rule_label",
]

OPENING_WEIGHT = 4.0
"""Points for an ``opening`` rule matching at the start of a segment (more than any one
``anywhere`` rule can give, so that how a segment opens decides ties)."""

MAX_ANYWHERE = 3
"""At most this many points per ``anywhere`` rule and segment."""

FLAGS = re.IGNORECASE | re.ASCII
"""Flags every cue rule is compiled with."""

OPENING_PREFIX = r"[\"'“‘(*_#\-\s]*(?:"
"""An ``opening`` rule ``p`` is matched at the start of a segment as ``OPENING_PREFIX + p + ")"``:
quotes, brackets, markdown markers and whitespace may come first."""


def _check_rule(label: str, kind: str, rule: str) -> None:
    try:
        width = sre_parse.parse(rule, FLAGS).getwidth()[0]
        re.compile(rule, FLAGS)
    except re.error as exc:
        raise ValueError(f"label {label!r}: invalid {kind} rule {rule!r}: {exc}") from exc
    if width == 0:
        raise ValueError(
            f"label {label!r}: {kind} rule {rule!r} can match the empty string; "
            "a cue rule must match at least one character"
        )


@dataclass(frozen=True)
class PatternLabel:
    """One label of a taxonomy with its cue rules (case-insensitive regular expressions)."""

    name: str
    description: str
    opening: tuple[str, ...] = ()
    anywhere: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for rule in self.opening:
            _check_rule(self.name, "opening", rule)
        for rule in self.anywhere:
            _check_rule(self.name, "anywhere", rule)


@dataclass(frozen=True)
class Taxonomy:
    """A named set of thinking-pattern labels.

    Attributes
    ----------
    name, source
        Preset name and where the label set comes from.
    labels
        The labels, in tie-breaking order.
    default
        Label for segments no rule matches.
    """

    name: str
    labels: tuple[PatternLabel, ...]
    default: str
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The label names."""
        return tuple(label.name for label in self.labels)

    @cached_property
    def rules(self) -> dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]]:
        """Compiled ``(opening, anywhere)`` rules per label."""
        return {
            label.name: (
                [re.compile(OPENING_PREFIX + p + ")", FLAGS) for p in label.opening],
                [re.compile(p, FLAGS) for p in label.anywhere],
            )
            for label in self.labels
        }

    def with_rules(
        self, name: str, *, opening: Sequence[str] = (), anywhere: Sequence[str] = ()
    ) -> Taxonomy:
        """Return a copy in which label ``name`` has these rules added (to edit a preset)."""
        if name not in self.names:
            raise ValueError(f"{self.name} has no label {name!r}: labels are {list(self.names)}")
        labels = tuple(
            replace(lb, opening=(*lb.opening, *opening), anywhere=(*lb.anywhere, *anywhere))
            if lb.name == name
            else lb
            for lb in self.labels
        )
        return Taxonomy(self.name, labels, self.default, self.source)


L = PatternLabel
_NUM_OP = r"\d\s*[-+*/×÷=^]\s*\(?\d"

TAXONOMIES: dict[str, Taxonomy] = {
    "dto": Taxonomy(
        "dto",
        (
            L(
                "problem_understanding",
                "restating or reading the problem",
                (
                    r"okay,?\s+(so\s+)?(i|the|we|let)",
                    r"the (question|problem|task) (is|asks|says)",
                    r"let me (read|understand|parse|restate)",
                    r"so,? the (question|problem|task)",
                ),
                (
                    r"\bthe (question|problem|task|prompt)\b",
                    r"\bwe (are|were) (asked|given)\b",
                    r"\bgiven\b",
                ),
            ),
            L(
                "planning",
                "deciding what to do next",
                (
                    r"first,?",
                    r"let me (start|begin|think about how|plan|break|outline|structure|list)",
                    r"(i|we) (need|should|will|have) to",
                    r"next,?",
                    r"step \d",
                    r"then,?",
                    r"now,? (i|let)",
                ),
                (r"\b(plan|approach|strategy|steps?)\b",),
            ),
            L(
                "computation",
                "calculating or deriving",
                (r"(calculat|comput)", r"so \d"),
                (
                    _NUM_OP,
                    r"\b(calculate|compute|multiply|divide|add|subtract|sum|equals?|total)\b",
                ),
            ),
            L(
                "verification",
                "checking a result",
                (
                    r"let me (check|verify|double-check|confirm|make sure|test)",
                    r"(checking|verifying|to verify)",
                    r"double-check",
                ),
                (r"\b(check|verify|double-check|confirm|sanity|plug(ging)? (it |this )?back)\b",),
            ),
            L(
                "backtracking",
                "abandoning or correcting an earlier step",
                (
                    r"wait",
                    r"no,",
                    r"hold on",
                    r"actually",
                    r"oops",
                    r"on second thought",
                    r"scratch that",
                ),
                (
                    r"\b(mistake|wrong|incorrect|miscalculat\w*|that's not right|doesn't (work|make sense))\b",
                ),
            ),
            L(
                "exploration",
                "trying an alternative",
                (
                    r"alternatively",
                    r"another (way|approach|option|possibility|idea)",
                    r"what if",
                    r"or maybe",
                    r"suppose",
                ),
                (r"\b(alternative(ly)?|instead|another (way|approach))\b",),
            ),
            L(
                "uncertainty",
                "expressing doubt",
                (r"hmm", r"i'?m not sure", r"maybe", r"perhaps"),
                (r"\b(not sure|unsure|unclear|might be|i think|confus\w*)\b",),
            ),
            L(
                "conclusion",
                "summarising or committing to the answer",
                (
                    r"so,? the (final )?answer",
                    r"therefore",
                    r"thus",
                    r"in (conclusion|summary)",
                    r"to summari[sz]e",
                    r"so,? (overall|putting (it|this) together)",
                    r"(the )?final answer",
                ),
                (r"\b(final answer|in summary|therefore|\\boxed)\b",),
            ),
        ),
        default="computation",
        source="DTO-style (arXiv 2505.21765); the label set and all rules are ours",
    ),
    "thought_anchors": Taxonomy(
        "thought_anchors",
        (
            L(
                "problem_setup",
                "parsing or rephrasing the problem",
                (
                    r"okay,?\s+(so\s+)?(i|the|we|let)",
                    r"the (question|problem) (is|asks)",
                    r"so,? the (question|problem)",
                ),
                (r"\b(the question|the problem|we are asked|given)\b",),
            ),
            L(
                "plan_generation",
                "stating a plan or next step",
                (
                    r"first,?",
                    r"let me (start|begin|think|plan|break)",
                    r"(i|we) (need|should) to",
                    r"next,?",
                ),
                (r"\b(plan|approach|strategy)\b",),
            ),
            L(
                "fact_retrieval",
                "recalling facts or formulas",
                (r"i (remember|recall|know) that", r"(recall|remember) that"),
                (r"\b(formula|definition|is defined as|known as|by definition)\b",),
            ),
            L(
                "active_computation",
                "algebra or arithmetic",
                (r"(calculat|comput)",),
                (_NUM_OP, r"\b(calculate|compute|multiply|divide|equals?)\b"),
            ),
            L(
                "uncertainty_management",
                "confusion, re-evaluation, backtracking",
                (r"wait", r"hmm", r"actually", r"hold on", r"but wait", r"i'?m not sure", r"maybe"),
                (r"\b(not sure|mistake|wrong|confus\w*)\b",),
            ),
            L(
                "self_checking",
                "verifying earlier steps",
                (r"let me (check|verify|double-check|confirm)", r"(checking|verifying)"),
                (r"\b(check|verify|double-check|confirm)\b",),
            ),
            L(
                "result_consolidation",
                "summarising intermediate results",
                (r"so,? (far|now|we have|overall)", r"putting (it|this) together", r"in summary"),
                (r"\b(so far|in total|altogether|summary)\b",),
            ),
            L(
                "final_answer_emission",
                "stating the final answer",
                (r"so,? the (final )?answer", r"(the )?final answer", r"therefore,? the answer"),
                (r"\b(final answer|\\boxed)\b",),
            ),
        ),
        default="active_computation",
        source="Thought Anchors (arXiv 2506.19143) label set; rules ours",
    ),
    "venhoff": Taxonomy(
        "venhoff",
        (
            L(
                "initializing",
                "restating the problem and setting up",
                (
                    r"okay,?\s+(so\s+)?(i|the|we|let)",
                    r"so,? (i have|the (question|problem))",
                    r"the (question|problem) (is|asks)",
                ),
                (r"\b(the question|the problem|i need to (find|figure))\b",),
            ),
            L(
                "deduction",
                "deriving conclusions from what is known",
                (r"so,?", r"therefore", r"thus", r"that means", r"which means", r"since"),
                (_NUM_OP, r"\b(so|therefore|thus|means|implies)\b"),
            ),
            L(
                "adding-knowledge",
                "bringing in outside facts",
                (
                    r"i (remember|recall|know) that",
                    r"(recall|remember) that",
                    r"i think .* (is|was) known",
                ),
                (r"\b(formula|definition|known as|by definition|in general)\b",),
            ),
            L(
                "example-testing",
                "trying concrete examples",
                (
                    r"let'?s (say|take|try|test|suppose)",
                    r"for example",
                    r"suppose",
                    r"if i (take|try|plug)",
                ),
                (r"\b(for example|for instance|e\.g\.|let'?s try|test case)\b",),
            ),
            L(
                "uncertainty-estimation",
                "expressing doubt",
                (r"hmm", r"i'?m not sure", r"maybe", r"perhaps", r"but i'?m"),
                (r"\b(not sure|unsure|might|maybe|perhaps|i think)\b",),
            ),
            L(
                "backtracking",
                "revisiting or abandoning a step",
                (
                    r"wait",
                    r"no,",
                    r"hold on",
                    r"actually",
                    r"let me (re|go back)",
                    r"on second thought",
                ),
                (r"\b(mistake|wrong|incorrect|go back|reconsider)\b",),
            ),
        ),
        default="deduction",
        source="Venhoff et al. (arXiv 2506.18167) label set; rules ours",
    ),
    "pmllm": Taxonomy(
        "pmllm",
        (
            L(
                "Pattern Recognition",
                "spotting regularities in the data",
                (r"looking at", r"i (notice|see) that", r"scanning"),
                (r"\b(pattern|repeated|occurs? (twice|multiple)|recurring|notice)\b",),
            ),
            L(
                "Deductive Reasoning",
                "applying rules to reach conclusions",
                (r"so,?", r"therefore", r"thus", r"since"),
                (r"\b(therefore|thus|must|implies|follows)\b",),
            ),
            L(
                "Inductive Reasoning",
                "generalising from cases",
                (r"in (general|most cases)", r"typically"),
                (r"\b(generally|typically|usually|in general|across (all|the) cases)\b",),
            ),
            L(
                "Abductive Reasoning",
                "inferring the likeliest explanation",
                (r"(this|that) (suggests|indicates|likely)", r"probably"),
                (r"\b(likely|probably|suggests|indicates|explanation)\b",),
            ),
            L(
                "Hypothesis Generation",
                "proposing candidate answers",
                (
                    r"maybe",
                    r"perhaps",
                    r"what if",
                    r"suppose",
                    r"one (idea|option|possibility)",
                    r"alternatively",
                ),
                (r"\b(could be|might be|hypothes\w+|possibility|option)\b",),
            ),
            L(
                "Validation",
                "checking a result",
                (r"let me (check|verify|double-check|confirm|make sure)", r"(checking|verifying)"),
                (r"\b(check|verify|double-check|confirm|make sure)\b",),
            ),
            L(
                "Backtracking",
                "revisiting an earlier step",
                (r"wait", r"no,", r"hold on", r"actually", r"on second thought"),
                (r"\b(mistake|wrong|incorrect|reconsider)\b",),
            ),
            L(
                "Ethical or Moral Reasoning",
                "weighing values, fairness, harm",
                (r"ethically", r"from an ethical"),
                (r"\b(ethic\w*|moral\w*|fair(ness)?|bias|privacy|harm)\b",),
            ),
            L(
                "Counterfactual Reasoning",
                "reasoning about what would happen otherwise",
                (r"if (we|they|it) (had|were|hadn't)", r"what would happen"),
                (r"\b(would have|had (we|they)|otherwise|counterfactual|if instead)\b",),
            ),
            L(
                "Heuristic Reasoning",
                "rules of thumb and shortcuts",
                (r"a (simple|quick|good) (way|rule)", r"as a rule of thumb"),
                (r"\b(heuristic|rule of thumb|roughly|approximate\w*|simplif\w+)\b",),
            ),
        ),
        default="Deductive Reasoning",
        source="pm-llm-benchmark reasoning types (pmllmbench_reasoning_steps); rules ours",
    ),
}
"""Taxonomy presets (see the module docstring)."""


def get_taxonomy(taxonomy: str | Taxonomy) -> Taxonomy:
    """Return a preset by name, or the taxonomy given."""
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    if taxonomy not in TAXONOMIES:
        raise ValueError(f"unknown taxonomy {taxonomy!r}: use one of {sorted(TAXONOMIES)}")
    return TAXONOMIES[taxonomy]


@dataclass(frozen=True, slots=True)
class RuleLabel:
    """The rule labeller's verdict on one text: the label, its confidence and all scores."""

    label: str
    confidence: float
    scores: dict[str, float]


def rule_label(text: str, *, taxonomy: str | Taxonomy = "dto") -> RuleLabel:
    """Label one segment's text with the cue rules of ``taxonomy``."""
    tax = get_taxonomy(taxonomy)
    scores: dict[str, float] = {}
    for name, (opening, anywhere) in tax.rules.items():
        score = 0.0
        if any(p.match(text) for p in opening):
            score += OPENING_WEIGHT
        for p in anywhere:
            score += min(MAX_ANYWHERE, sum(1 for _ in p.finditer(text)))
        scores[name] = score
    total = sum(scores.values())
    if total == 0:
        return RuleLabel(tax.default, 0.0, scores)
    best = max(tax.names, key=lambda n: (scores[n], -tax.names.index(n)))
    return RuleLabel(best, scores[best] / total, scores)


def label_segments(
    segments: Sequence[Segment], *, taxonomy: str | Taxonomy = "dto"
) -> list[Segment]:
    """Return copies of ``segments`` labelled by the rule labeller (``label_source="rule"``)."""
    out = []
    for seg in segments:
        verdict = rule_label(seg.text, taxonomy=taxonomy)
        out.append(
            replace(
                seg,
                labels=[verdict.label],
                label_source="rule",
                confidence=round(verdict.confidence, 4),
            )
        )
    return out
