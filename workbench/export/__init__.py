"""Training data in the formats TRL reads: preference (DPO), SFT, unpaired (KTO), stepwise (PRM).

:func:`export_traces` writes the trajectories themselves as a corpus (``workbench.traces/1``) that
``import`` reads back.

Each ``export_*`` function builds an :class:`Export` from the store (rows, provenance, token
lengths and warnings); :meth:`Export.write` writes JSONL or Parquet and a dataset card, and
:meth:`Export.to_dataset` gives an in-memory ``datasets.Dataset``.
"""

from workbench.export.api import (
    EXPORT_KINDS,
    Export,
    WriteResult,
    export_dpo,
    export_kto,
    export_sft,
    export_stepwise,
)
from workbench.export.lengths import DEFAULT_MAX_LENGTH, TokenCounter
from workbench.export.text import STYLES, THINK_STYLES
from workbench.export.traces import TracesWritten, export_traces
from workbench.export.trl_check import check_trl
from workbench.export.writers import load_rows, to_dataset, write_rows

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "EXPORT_KINDS",
    "STYLES",
    "THINK_STYLES",
    "Export",
    "TokenCounter",
    "TracesWritten",
    "WriteResult",
    "check_trl",
    "export_dpo",
    "export_kto",
    "export_sft",
    "export_stepwise",
    "export_traces",
    "load_rows",
    "to_dataset",
    "write_rows",
]
