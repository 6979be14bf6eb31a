"""Peer annotations as labelled character spans of a trajectory's raw text.

Peer data sets label *their own* sections of a trace (sentences or groups of sentences), not our
segments. To compare labellings, each peer section is located in :attr:`Trajectory.raw` and every
one of our segments then takes the label of the peer section it overlaps most.

Locating is robust to light normalisation in the peer copy (dropped quotes and apostrophes,
collapsed whitespace, changed case): both texts are reduced to their lower-cased alphanumeric
characters, with an index map from the reduced raw text back to raw offsets, and sections are
searched for in order, each after the end of the previous match.

Supported peers:

* the steering-vectors annotations (Venhoff et al., arXiv 2506.18167): ``annotated_response``
  with ``["label"] text ["end-section"]`` markers, parsed by
  :func:`parse_steering_annotations`;
* pm-llm-benchmark reasoning steps: ``(type, excerpt)`` pairs that can be given to
  :func:`align_sections` as they are.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from workbench.segment import Segment

__all__ = [
    "DEFAULT_PREFIX_CHARS",
    "STEERING_LABELS",
    "align_sections",
    "normalise",
    "parse_steering_annotations",
    "peer_labels_for_segments",
]

STEERING_LABELS: tuple[str, ...] = (
    "initializing",
    "deduction",
    "adding-knowledge",
    "example-testing",
    "uncertainty-estimation",
    "backtracking",
)
"""The six behaviour labels of the steering-vectors annotations (Venhoff et al.)."""

_MARKER = re.compile(r'\[\s*(?:"([^"\]\n]*)"|(?:\d+[.)]\s*)?([A-Za-z]+(?:-[A-Za-z]+)*))\s*\]')
_ENUMERATION = re.compile(r"^\s*\d+[.)]\s*")
_END = "end-section"
_MAX_TRIES = 20

DEFAULT_PREFIX_CHARS = 40
"""Normalised characters of a section's start (and end) used when its whole text is not found."""


def parse_steering_annotations(
    annotated: str, *, labels: Collection[str] | None = STEERING_LABELS
) -> list[tuple[str, str]]:
    """Parse a ``["label"] text ["end-section"]`` annotated response.

    Parameters
    ----------
    annotated
        The ``annotated_response`` field of the steering-vectors data.
    labels
        Labels recognised in markers written without quotes (``[deduction]``,
        ``[1. deduction]``, ``[end-section]``, all found in the data), so that bracketed words
        of the text itself (``[blank]``) are not taken for markers; ``None`` accepts any word.
        Quoted markers are always recognised.

    Returns
    -------
    list of (str, str)
        ``(label, section text)`` in order of appearance, the text stripped of surrounding
        whitespace. A stray enumeration in a label (``"1. deduction"``) is removed; a section
        whose end marker is missing ends at the next label; text outside sections and empty
        sections are dropped.

    Examples
    --------
    >>> parse_steering_annotations('["deduction"] So x = 2. ["end-section"] [2. backtracking]Wait')
    [('deduction', 'So x = 2.'), ('backtracking', 'Wait')]
    """
    sections: list[tuple[str, str]] = []
    label: str | None = None
    start = 0
    for m in _MARKER.finditer(annotated):
        if m.group(1) is not None:
            name = _ENUMERATION.sub("", m.group(1)).strip()
        else:
            name = m.group(2)
            if name != _END and labels is not None and name not in labels:
                continue
        if label is not None:
            text = annotated[start : m.start()].strip()
            if text:
                sections.append((label, text))
        label = None if name == _END else name
        start = m.end()
    if label is not None:
        text = annotated[start:].strip()
        if text:
            sections.append((label, text))
    return sections


def normalise(text: str) -> tuple[str, list[int]]:
    """Reduce ``text`` to its lower-cased alphanumeric characters.

    Returns
    -------
    tuple of (str, list of int)
        The reduced text and, for each of its characters, the offset in ``text`` it came from.

    Examples
    --------
    >>> normalise("It's 3!")
    ('its3', [0, 1, 3, 5])
    """
    chars: list[str] = []
    index: list[int] = []
    for i, c in enumerate(text):
        if c.isalnum():
            for lower in c.lower():
                chars.append(lower)
                index.append(i)
    return "".join(chars), index


def align_sections(
    raw: str,
    sections: Sequence[tuple[str, str]],
    *,
    start: int = 0,
    prefix_chars: int = DEFAULT_PREFIX_CHARS,
) -> list[tuple[int, int, str]]:
    """Locate each ``(label, text)`` section in ``raw``, in order.

    A section matches where its whole normalised text (see :func:`normalise`) first occurs after
    the end of the previous match. Otherwise (the peer copy was edited) its first
    ``prefix_chars`` normalised characters are searched for, preferring an occurrence followed
    within about 1.5 section lengths by its last ``prefix_chars`` characters, which then end the
    match (their occurrence nearest one section length on; else the match ends one section
    length on). When the start is not found either, the end alone is (its occurrence nearest one
    section length on): the match begins one section length before it, but not before the
    previous match. Sections that do not match are skipped, and the search goes on from the same
    place.

    Parameters
    ----------
    raw
        The text to search, usually :attr:`Trajectory.raw`.
    sections
        ``(label, section text)`` pairs in their order in ``raw``.
    start
        Offset of ``raw`` where the search begins (e.g. the start of the thinking).
    prefix_chars
        Length of the start and end probes for sections not found whole.

    Returns
    -------
    list of (int, int, str)
        ``(start, end, label)`` spans of ``raw``, in order and not overlapping, one per matched
        section; ``len(sections) - len(result)`` sections did not match.

    Examples
    --------
    >>> raw = "<think>Okay, it's 2.\\n\\nWait — no: it is 3.</think>"
    >>> align_sections(raw, [("init", "okay its 2."), ("back", "Wait no it is 3")])
    [(7, 19, 'init'), (22, 40, 'back')]
    """
    norm, index = normalise(raw)
    if not index:
        return []
    cursor = next((i for i, offset in enumerate(index) if offset >= start), len(norm))
    spans: list[tuple[int, int, str]] = []
    for label, text in sections:
        needle, _ = normalise(text)
        if not needle:
            continue
        found = _find(norm, needle, cursor, prefix_chars)
        if found is None:
            continue
        begin, end = found
        spans.append((index[begin], index[end - 1] + 1, label))
        cursor = end
    return spans


def _find(norm: str, needle: str, cursor: int, probe: int) -> tuple[int, int] | None:
    """Return the ``[begin, end)`` match of ``needle`` in ``norm`` at or after ``cursor``."""
    begin = norm.find(needle, cursor)
    if begin >= 0:
        return begin, begin + len(needle)
    if len(needle) <= probe:
        return None
    head, tail = needle[:probe], needle[-probe:]
    reach = len(needle) + len(needle) // 2 + probe
    first = begin = norm.find(head, cursor)
    for _ in range(_MAX_TRIES):
        if begin < 0:
            break
        stop = _nearest(norm, tail, begin + probe, begin + reach, begin + len(needle) - probe)
        if stop >= 0:
            return begin, stop + probe
        begin = norm.find(head, begin + 1)
    if first >= 0:
        return first, min(first + len(needle), len(norm))
    stop = _nearest(norm, tail, cursor, len(norm), cursor + len(needle) - probe)
    if stop >= 0:
        return max(cursor, stop + probe - len(needle)), stop + probe
    return None


def _nearest(norm: str, sub: str, lo: int, hi: int, target: int) -> int:
    """Return the occurrence of ``sub`` within ``norm[lo:hi]`` nearest ``target`` (or -1)."""
    best = -1
    at = norm.find(sub, lo, hi)
    while at >= 0:
        if best < 0 or abs(at - target) < abs(best - target):
            best = at
        at = norm.find(sub, at + 1, hi)
    return best


def peer_labels_for_segments(
    segments: Sequence[Segment], spans: Sequence[tuple[int, int, str]]
) -> list[str | None]:
    """Give each segment the label of the peer span it overlaps most.

    Parameters
    ----------
    segments
        Segments of one trajectory (their ``char_span`` is used).
    spans
        ``(start, end, label)`` peer spans of the same raw text, e.g. from
        :func:`align_sections`.

    Returns
    -------
    list of (str or None)
        One label per segment: that of the span with the largest character overlap (the earlier
        span on ties), ``None`` when the segment overlaps no span.
    """
    ordered = sorted(spans)
    labels: list[str | None] = []
    for seg in segments:
        s_start, s_end = seg.char_span
        best, best_overlap = None, 0
        for p_start, p_end, label in ordered:
            if p_start >= s_end:
                break
            overlap = min(s_end, p_end) - max(s_start, p_start)
            if overlap > best_overlap:
                best, best_overlap = label, overlap
        labels.append(best)
    return labels
