"""Analysis: pure functions over trajectories and polars frames.

Segments, thinking patterns, reflection keywords, grading, overthinking and corpus analytics.
Names load lazily (the corpus engine compiles numba kernels; the labeller needs torch).

Examples
--------
>>> from workbench.analysis import segment, find_keywords, get_lexicon
>>> sorted(get_lexicon("mi_peaks").keywords)
['hmm', 'so', 'therefore', 'wait']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_attributes

if TYPE_CHECKING:
    from workbench.analysis._finetuned import FineTunedLabeller
    from workbench.analysis._keyword_stats import keyword_counts, keyword_stats, keyword_summary
    from workbench.analysis._llm_labeller import LLMLabeller
    from workbench.analysis._overthinking import (
        Overthinking,
        first_correct_solution,
        overthinking,
        overthinking_frame,
        overthinking_summary,
    )
    from workbench.analysis._segment import segment, segment_text
    from workbench.analysis.corpus import CorpusAnalytics, analyze_corpus
    from workbench.analysis.grading.pipeline import grade_store, grade_trajectory
    from workbench.analysis.keywords import (
        LEXICONS,
        KeywordHit,
        Lexicon,
        find_keywords,
        get_lexicon,
    )
    from workbench.analysis.labeller import ModelLabeller
    from workbench.analysis.patterns import TAXONOMIES, Taxonomy, get_taxonomy, label_segments
    from workbench.analysis.pipeline import analyze_store, analyze_trajectory

_WHERE = {
    "CorpusAnalytics": "workbench.analysis.corpus",
    "analyze_corpus": "workbench.analysis.corpus",
    "grade_store": "workbench.analysis.grading.pipeline",
    "grade_trajectory": "workbench.analysis.grading.pipeline",
    "keyword_counts": "workbench.analysis._keyword_stats",
    "keyword_stats": "workbench.analysis._keyword_stats",
    "keyword_summary": "workbench.analysis._keyword_stats",
    "LEXICONS": "workbench.analysis.keywords",
    "KeywordHit": "workbench.analysis.keywords",
    "Lexicon": "workbench.analysis.keywords",
    "find_keywords": "workbench.analysis.keywords",
    "get_lexicon": "workbench.analysis.keywords",
    "ModelLabeller": "workbench.analysis.labeller",
    "FineTunedLabeller": "workbench.analysis._finetuned",
    "LLMLabeller": "workbench.analysis._llm_labeller",
    "Overthinking": "workbench.analysis._overthinking",
    "first_correct_solution": "workbench.analysis._overthinking",
    "overthinking": "workbench.analysis._overthinking",
    "overthinking_frame": "workbench.analysis._overthinking",
    "overthinking_summary": "workbench.analysis._overthinking",
    "TAXONOMIES": "workbench.analysis.patterns",
    "Taxonomy": "workbench.analysis.patterns",
    "get_taxonomy": "workbench.analysis.patterns",
    "label_segments": "workbench.analysis.patterns",
    "analyze_store": "workbench.analysis.pipeline",
    "analyze_trajectory": "workbench.analysis.pipeline",
    "segment": "workbench.analysis._segment",
    "segment_text": "workbench.analysis._segment",
}

__all__ = [
    "LEXICONS",
    "TAXONOMIES",
    "CorpusAnalytics",
    "FineTunedLabeller",
    "KeywordHit",
    "LLMLabeller",
    "Lexicon",
    "ModelLabeller",
    "Overthinking",
    "Taxonomy",
    "analyze_corpus",
    "analyze_store",
    "analyze_trajectory",
    "find_keywords",
    "first_correct_solution",
    "get_lexicon",
    "get_taxonomy",
    "grade_store",
    "grade_trajectory",
    "keyword_counts",
    "keyword_stats",
    "keyword_summary",
    "label_segments",
    "overthinking",
    "overthinking_frame",
    "overthinking_summary",
    "segment",
    "segment_text",
]

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, [])
