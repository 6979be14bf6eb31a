"""Importers: read trace files of many layouts into the store."""

from workbench.store.importers.ingest import ImportIssue, ImportReport, default_source, import_file
from workbench.store.importers.layout import (
    CANDIDATES,
    TARGETS,
    Layout,
    detect_layout,
    parse_mapping,
)
from workbench.store.importers.readers import FORMATS, detect_format, read_records

__all__ = [
    "CANDIDATES",
    "FORMATS",
    "TARGETS",
    "ImportIssue",
    "ImportReport",
    "Layout",
    "default_source",
    "detect_format",
    "detect_layout",
    "import_file",
    "parse_mapping",
    "read_records",
]
