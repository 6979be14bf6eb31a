"""Columnar corpus analytics: segments, rule labels and keyword statistics at scale.

:func:`analyze_corpus` gives, for a whole corpus at once, exactly what the per-trace functions
(:func:`~workbench.analysis._segment.segment_text`, :func:`~workbench.analysis.patterns.rule_label`,
:func:`~workbench.analysis._keyword_stats.keyword_stats`) give trace by trace, about two orders of
magnitude faster: cue rules and keywords are compiled into byte-level DFAs
(:mod:`~workbench.analysis.corpus.regex_dfa`) and run by numba kernels
(:mod:`~workbench.analysis.corpus.kernels`) in one pass per trace, in parallel over traces.
:func:`~workbench.analysis.corpus.reference.analyze_corpus_reference` is the straightforward
per-trace implementation it is checked against. See ``docs/corpus_analytics.md``.
"""

from workbench.analysis.corpus.engine import CARRIED_COLUMNS, CorpusAnalytics, analyze_corpus
from workbench.analysis.corpus.reference import analyze_corpus_reference

__all__ = ["CARRIED_COLUMNS", "CorpusAnalytics", "analyze_corpus", "analyze_corpus_reference"]
