"""The pattern colours the widgets use (``wb-c0`` … ``wb-c11`` in ``js/src/styles.css``).

A label's colour is its place in the taxonomy, else a stable hash of the label (the same rule as
``colourIndex`` in ``js/src/dom.ts``), so a pattern has one colour in the trace, the heatmap and
every chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["PATTERN_COLOURS", "colour_index", "pattern_scale"]

PATTERN_COLOURS: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
)  # fmt: skip
"""The twelve pattern colours, in class order."""


def colour_index(label: str, labels: Sequence[str]) -> int:
    """Return the colour index of ``label``: its place in ``labels``, else a 32-bit string hash."""
    if label in labels:
        return labels.index(label) % len(PATTERN_COLOURS)
    h = 0
    units = label.encode("utf-16-le")  # JavaScript's charCodeAt counts UTF-16 code units
    for i in range(0, len(units), 2):
        h = (h * 31 + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
    if h >= 2**31:
        h -= 2**32
    return abs(h) % len(PATTERN_COLOURS)


def pattern_scale(present: Iterable[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return ``(domain, range)`` of an ordinal colour scale for the labels ``present``."""
    domain = [x for x in labels if x in set(present)]
    domain += sorted(set(present) - set(domain))
    return domain, [PATTERN_COLOURS[colour_index(x, labels)] for x in domain]
