"""workbench: a Jupyter research workbench for reasoning ("thinking") language models.

Import it as ``import workbench as wb``. The domain objects (:class:`Trajectory`, :class:`Segment`,
:class:`Annotation`, :class:`Pair`), the thinking parser (:func:`parse_think`) and the store
(:class:`Store`, :func:`import_file`) are available at the top level.
"""

from workbench._version import __version__
from workbench.annotation import ANNOTATION_KINDS, VERDICTS, Annotation
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

__all__ = [
    "ANNOTATION_KINDS",
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
    "Segment",
    "Store",
    "StoreError",
    "ThinkParse",
    "TokenArrays",
    "Trajectory",
    "ValidationError",
    "WorkbenchError",
    "__version__",
    "import_file",
    "open_store",
    "parse_think",
    "prompt_key",
    "unnest_metadata",
]
