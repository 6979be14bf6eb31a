"""workbench: a Jupyter research workbench for reasoning ("thinking") language models.

Import it as ``import workbench as wb``. The package is installed as ``thinking-workbench``.

* Domain objects: :class:`Trajectory`, :class:`Segment`, :class:`Annotation`, :class:`Pair`,
  :class:`Grade`, :class:`Constraint`; the thinking parser :func:`parse_think`.
* The store: :class:`Store`, :func:`import_file`, :func:`unnest_metadata`.
* Generating live: :class:`Session`, :class:`Run`, :class:`SamplingParams`,
  :class:`BudgetForcing`.
* Analysis: :func:`analyze_store`, :func:`analyze_corpus`, :func:`segment_text`,
  :func:`label_segments`, :func:`keyword_stats`, :func:`keyword_summary`, :func:`grade_store`,
  :func:`grade_trajectory`, :func:`overthinking_frame`, :func:`constraint_attention`, …
* Training data: :func:`make_pairs`, :func:`pair_summary`, :class:`Selection`,
  :func:`export_dpo`, :func:`export_sft`, :func:`export_kto`, :func:`export_stepwise`.
* Display: :data:`renderers` (``wb.renderers.enable("html")``), :func:`browse`; the widgets
  (:class:`LiveTrace`, :class:`Annotator`, …) and :mod:`workbench.charts` load on first use.

Subpackages are the stable faces (``workbench.store``, ``workbench.session``,
``workbench.backends``, ``workbench.analysis``, ``workbench.constraints``, ``workbench.attention``,
``workbench.pairs``, ``workbench.export``, ``workbench.display``, ``workbench.widgets``,
``workbench.charts``); modules whose name starts with ``_`` are private.

Examples
--------
>>> import workbench as wb
>>> t = wb.parse_think("<think>2 + 2 = 4</think>The answer is 4.")
>>> (t.thinking, t.answer, t.think_format)
('2 + 2 = 4', 'The answer is 4.', 'tags')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._install import DISTRIBUTION
from workbench._lazy import lazy_attributes
from workbench._version import __version__
from workbench.annotation import ANNOTATION_KINDS, VERDICTS, Annotation
from workbench.display import QueryResult, browse, renderers
from workbench.errors import (
    ImportFormatError,
    NotFoundError,
    StoreError,
    ValidationError,
    WorkbenchError,
)
from workbench.grade import Grade
from workbench.pair import PAIR_STRATEGIES, Pair
from workbench.segment import LABEL_SOURCES, Segment
from workbench.store import ImportReport, Store, import_file, open_store, unnest_metadata
from workbench.think import THINK_FORMATS, ThinkParse, parse_think
from workbench.trajectory import (
    SCHEMA_VERSION,
    STATUSES,
    Constraint,
    TokenArrays,
    Trajectory,
    prompt_key,
)

if TYPE_CHECKING:
    from workbench.analysis import (
        analyze_corpus,
        analyze_store,
        analyze_trajectory,
        find_keywords,
        get_lexicon,
        get_taxonomy,
        grade_store,
        grade_trajectory,
        keyword_counts,
        keyword_stats,
        keyword_summary,
        label_segments,
        overthinking,
        overthinking_frame,
        overthinking_summary,
        segment_text,
    )
    from workbench.attention import (
        ConstraintAttention,
        constraint_attention,
        load_attention,
        save_attention,
        thinking_delta,
    )
    from workbench.backends import BudgetForcing, GenerationRequest, SamplingParams
    from workbench.constraints import resolve_constraints
    from workbench.export import (
        Export,
        check_trl,
        export_dpo,
        export_kto,
        export_sft,
        export_stepwise,
    )
    from workbench.pairs import ProbeConfig, Selection, make_pairs, pair_summary
    from workbench.session import Run, Session
    from workbench.widgets import Annotator, ConstraintHeatmap, LiveTrace, PairBuilder, StatsPanel

_EAGER = [
    "ANNOTATION_KINDS",
    "DISTRIBUTION",
    "LABEL_SOURCES",
    "PAIR_STRATEGIES",
    "SCHEMA_VERSION",
    "STATUSES",
    "THINK_FORMATS",
    "VERDICTS",
    "Annotation",
    "Constraint",
    "Grade",
    "ImportFormatError",
    "ImportReport",
    "NotFoundError",
    "Pair",
    "QueryResult",
    "Segment",
    "Store",
    "StoreError",
    "ThinkParse",
    "TokenArrays",
    "Trajectory",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "browse",
    "import_file",
    "open_store",
    "parse_think",
    "prompt_key",
    "renderers",
    "unnest_metadata",
]

_WHERE: dict[str, str] = {
    # subpackages
    **dict.fromkeys(
        (
            "analysis",
            "attention",
            "backends",
            "charts",
            "constraints",
            "export",
            "pairs",
            "session",
            "widgets",
        ),
        "",
    ),
    # generating live
    "Session": "workbench.session",
    "Run": "workbench.session",
    "SamplingParams": "workbench.backends",
    "BudgetForcing": "workbench.backends",
    "GenerationRequest": "workbench.backends",
    # analysis
    **dict.fromkeys(
        (
            "analyze_corpus",
            "analyze_store",
            "analyze_trajectory",
            "find_keywords",
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
            "segment_text",
        ),
        "workbench.analysis",
    ),
    # constraint attention
    **dict.fromkeys(
        (
            "ConstraintAttention",
            "constraint_attention",
            "load_attention",
            "save_attention",
            "thinking_delta",
        ),
        "workbench.attention",
    ),
    "resolve_constraints": "workbench.constraints",
    # training data
    **dict.fromkeys(("ProbeConfig", "Selection", "make_pairs", "pair_summary"), "workbench.pairs"),
    **dict.fromkeys(
        ("Export", "check_trl", "export_dpo", "export_kto", "export_sft", "export_stepwise"),
        "workbench.export",
    ),
    # widgets (anywidget is imported only when one is made)
    **dict.fromkeys(
        ("Annotator", "ConstraintHeatmap", "LiveTrace", "PairBuilder", "StatsPanel"),
        "workbench.widgets",
    ),
}

__all__ = [
    "ANNOTATION_KINDS",
    "DISTRIBUTION",
    "LABEL_SOURCES",
    "PAIR_STRATEGIES",
    "SCHEMA_VERSION",
    "STATUSES",
    "THINK_FORMATS",
    "VERDICTS",
    "Annotation",
    "Annotator",
    "BudgetForcing",
    "Constraint",
    "ConstraintAttention",
    "ConstraintHeatmap",
    "Export",
    "GenerationRequest",
    "Grade",
    "ImportFormatError",
    "ImportReport",
    "LiveTrace",
    "NotFoundError",
    "Pair",
    "PairBuilder",
    "ProbeConfig",
    "QueryResult",
    "Run",
    "SamplingParams",
    "Segment",
    "Selection",
    "Session",
    "StatsPanel",
    "Store",
    "StoreError",
    "ThinkParse",
    "TokenArrays",
    "Trajectory",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "analyze_corpus",
    "analyze_store",
    "analyze_trajectory",
    "browse",
    "check_trl",
    "constraint_attention",
    "export_dpo",
    "export_kto",
    "export_sft",
    "export_stepwise",
    "find_keywords",
    "get_lexicon",
    "get_taxonomy",
    "grade_store",
    "grade_trajectory",
    "import_file",
    "keyword_counts",
    "keyword_stats",
    "keyword_summary",
    "label_segments",
    "load_attention",
    "make_pairs",
    "open_store",
    "overthinking",
    "overthinking_frame",
    "overthinking_summary",
    "pair_summary",
    "parse_think",
    "prompt_key",
    "renderers",
    "resolve_constraints",
    "save_attention",
    "segment_text",
    "thinking_delta",
    "unnest_metadata",
]

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, _EAGER)
