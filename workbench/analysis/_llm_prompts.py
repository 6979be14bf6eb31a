"""Prompt templates of the LLM labeller, one per taxonomy.

Where a peer published the prompt it labelled with, the template keeps that prompt's label
definitions word for word and says so in ``source``:

``venhoff``
    Venhoff et al. (arXiv 2506.18167) annotated R1-distill traces with GPT-4o using a prompt that
    lists six labels as ``N. label -> definition`` (their repository's annotation prompt). The
    definitions below are theirs. Their prompt asks the model to rewrite the trace with
    ``["label"] … ["end-section"]`` markers; we have already segmented the trace, so ours numbers
    the segments and asks for one label per number (the output format is ours).
``thought_anchors``
    Thought Anchors (Bogdan et al., arXiv 2506.19143) tag sentence chunks with eight function
    tags. The tag names are the paper's; the one-line definitions follow the paper's table and
    are paraphrased (ours).

Any other taxonomy gets a generic template built from its labels' descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PROMPT_TEMPLATES", "PromptTemplate", "prompt_template"]


@dataclass(frozen=True)
class PromptTemplate:
    """How the LLM labeller asks for labels.

    Attributes
    ----------
    name
        ``<taxonomy>/<version>``, recorded with every label.
    taxonomy
        The label set.
    labels
        ``(label, definition)`` pairs, in the order the prompt lists them.
    source
        Where the definitions come from.
    intro
        The opening of the user message.
    """

    name: str
    taxonomy: str
    labels: tuple[tuple[str, str], ...]
    source: str
    intro: str = (
        "Below are consecutive numbered parts of a reasoning chain of an LLM. Give each part "
        "the one label that fits its behaviour best."
    )

    def render(self, segments: Sequence[tuple[int, str]], *, context: str = "") -> str:
        """Return the user message asking for labels of ``(number, text)`` segments."""
        lines = [self.intro, "", "Available labels:"]
        lines += [f"{i}. {name} -> {text}" for i, (name, text) in enumerate(self.labels)]
        if context:
            lines += [
                "",
                "The text just before these parts (for context, do not label it):",
                context,
            ]
        lines += ["", "The parts to label:"]
        lines += [f"[{n}] {text}" for n, text in segments]
        lines += [
            "",
            "Answer only with a JSON object mapping each part's number to its label, e.g. "
            + "{"
            + ", ".join(f'"{n}": "{self.labels[0][0]}"' for n, _ in segments[:2])
            + "}. Only use the labels outlined above.",
        ]
        return "\n".join(lines)


PROMPT_TEMPLATES: dict[str, PromptTemplate] = {
    "venhoff": PromptTemplate(
        name="venhoff/1",
        taxonomy="venhoff",
        source="label definitions verbatim from Venhoff et al. (arXiv 2506.18167), annotation "
        "prompt; numbered-parts JSON output format ours",
        labels=(
            ("initializing", "The model is rephrasing the given task and states initial thoughts."),
            (
                "deduction",
                "The model is performing a deduction step based on its current "
                "approach and assumptions.",
            ),
            (
                "adding-knowledge",
                "The model is enriching the current approach with recalled facts.",
            ),
            ("example-testing", "The model generates examples to test its current approach."),
            ("uncertainty-estimation", "The model is stating its own uncertainty."),
            ("backtracking", "The model decides to change its approach."),
        ),
    ),
    "thought_anchors": PromptTemplate(
        name="thought_anchors/1",
        taxonomy="thought_anchors",
        source="tag names from Thought Anchors (arXiv 2506.19143); definitions paraphrased "
        "from the paper's taxonomy table (ours)",
        labels=(
            ("problem_setup", "Parsing or rephrasing the problem."),
            ("plan_generation", "Stating or deciding on a plan of action."),
            ("fact_retrieval", "Recalling facts, formulas or problem details without computation."),
            (
                "active_computation",
                "Algebra, calculations or other manipulations toward the answer.",
            ),
            (
                "uncertainty_management",
                "Expressing confusion, re-evaluating, including backtracking.",
            ),
            ("result_consolidation", "Aggregating intermediate results or summarising."),
            ("self_checking", "Verifying previous steps or checking calculations."),
            ("final_answer_emission", "Explicitly stating the final answer."),
        ),
    ),
}
"""Templates of the taxonomies whose peers published a prompt or a tag table."""


def prompt_template(taxonomy: str) -> PromptTemplate:
    """Return the template of ``taxonomy`` (a generic one built from its labels if none is named)."""
    if taxonomy in PROMPT_TEMPLATES:
        return PROMPT_TEMPLATES[taxonomy]
    from workbench.analysis.patterns import get_taxonomy

    tax = get_taxonomy(taxonomy)
    return PromptTemplate(
        name=f"{tax.name}/generic-1",
        taxonomy=tax.name,
        source=f"generic template from the taxonomy's label descriptions ({tax.source})",
        labels=tuple((label.name, label.description) for label in tax.labels),
    )
