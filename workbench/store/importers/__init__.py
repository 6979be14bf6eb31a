"""Importers: read trace files of many layouts into the store.

Field detection (:mod:`.layout`) reads simple column layouts; the named layouts (:mod:`.registry`:
the public reasoning datasets, saved server responses, Inspect and lm-eval logs, the workbench's
own ``export traces`` corpus) are recognised per record without ``--map``.
"""

from workbench.store.importers.hf import is_hf_spec, parse_hf_spec, resolve_hf
from workbench.store.importers.ingest import default_source, import_file
from workbench.store.importers.layout import (
    CANDIDATES,
    TARGETS,
    Layout,
    detect_layout,
    parse_mapping,
)
from workbench.store.importers.layouts_traces import TRACE_COLUMNS, trace_row, trajectory_from_row
from workbench.store.importers.readers import FORMATS, detect_format, read_records
from workbench.store.importers.registry import LAYOUT_NAMES, describe_layouts, recognise
from workbench.store.importers.report import ImportIssue, ImportReport

__all__ = [
    "CANDIDATES",
    "FORMATS",
    "LAYOUT_NAMES",
    "TARGETS",
    "TRACE_COLUMNS",
    "ImportIssue",
    "ImportReport",
    "Layout",
    "default_source",
    "describe_layouts",
    "detect_format",
    "detect_layout",
    "import_file",
    "is_hf_spec",
    "parse_hf_spec",
    "parse_mapping",
    "read_records",
    "recognise",
    "resolve_hf",
    "trace_row",
    "trajectory_from_row",
]
