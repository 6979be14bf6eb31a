"""The keywords-only kernel: keyword hits, words and characters, two light passes per trace.

:func:`keywords_chunk` computes, per trace, exactly the keyword columns of
:func:`~workbench.analysis.corpus.kernels.analyze_chunk` (hit positions in characters, the form
of each hit, the words between consecutive hits, the word and character counts) without
segmenting:

1. :func:`_find_hits` walks the bytes once with a two-byte prefilter, collecting the positions
   where a match can start (about 1 in 90 for ``r1`` on the shared traces) without a branch,
   then runs the keyword DFA from each;
2. :func:`~workbench.analysis.corpus.kernels._counts` then walks the pieces between hit starts and ends once, counting word starts
   and UTF-8 continuation bytes, which give each hit's character offset, the words between two
   hits and the totals. Its loop has no table lookups and no branches, so the compiler
   vectorises it (a few times faster than counting in the first loop).

Both loops index a slice of the trace with unsigned indices: numba then drops the wraparound
check of negative indices, which is what keeps the loops tight.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from workbench.analysis.corpus.kernels import _counts

__all__ = ["keywords_chunk"]


@njit(cache=True, nogil=True, inline="always")
def _run(
    a: np.ndarray, p: int, n: int, state: int,
    trans: np.ndarray, acc_end: np.ndarray, shift: int, byte_class: np.ndarray,
    kw_form: np.ndarray,
) -> tuple[int, int]:  # fmt: skip
    """Return the longest keyword match from ``p`` (DFA from ``state``): (end, form), or -1s."""
    low = (1 << shift) - 1
    kend = -1
    kform = -1
    q = p
    while True:
        if q < n:
            v = trans[state, byte_class[a[np.uint64(q)]]]
            code = v >> shift
            state = v & low
        else:
            code = acc_end[state]
            state = 0
        if code != 0 and kw_form[code] >= 0:
            kend = q
            kform = kw_form[code]
        if state == 0:
            return kend, kform
        q += 1


@njit(cache=True, nogil=True)
def _find_hits(
    a: np.ndarray,
    trans: np.ndarray, acc_end: np.ndarray, pre: np.ndarray, start: np.ndarray, shift: int,
    pre2: np.ndarray, start_index: np.ndarray, byte_class: np.ndarray, kw_form: np.ndarray,
    hit_pos: np.ndarray, hit_kw: np.ndarray, hit_end: np.ndarray, hb: int,
) -> int:  # fmt: skip
    """Write the keyword hits of trace ``a`` (byte start, form, byte end) at ``hb``; count them.

    A hit is the longest match of the keyword DFA at a position at or after the end of the
    previous hit; a run starts only where ``pre2[start_index[previous byte] << 16 | byte << 8 |
    next byte]`` (``pre[previous, byte]`` at the last byte) says a match can start. The
    candidate positions are collected first, without a branch (every position is written, the
    count advances when the prefilter says so: the loop never mispredicts), into ``hit_end``'s
    slots, then the DFA runs from each; a hit's slot never overtakes the candidate being read.
    """
    n = a.shape[0]
    k = 0
    prev = 256
    for p in range(n - 1):
        b = a[np.uint64(p)]
        hit_end[hb + k] = p
        k += pre2[(start_index[prev] << 16) | (np.int64(b) << 8) | a[np.uint64(p + 1)]]
        prev = b
    if n > 0 and pre[prev, a[np.uint64(n - 1)]]:
        hit_end[hb + k] = n - 1
        k += 1
    nh = 0
    cursor = 0
    for j in range(k):
        p = hit_end[hb + j]
        if p < cursor:
            continue
        before = 256 if p == 0 else int(a[np.uint64(p - 1)])
        kend, kform = _run(a, p, n, start[before], trans, acc_end, shift, byte_class, kw_form)
        if kend > p:
            hit_pos[hb + nh] = p
            hit_kw[hb + nh] = kform
            hit_end[hb + nh] = kend
            cursor = kend
            nh += 1
    return nh


@njit(cache=True, nogil=True, parallel=True)
def keywords_chunk(
    data: np.ndarray, offs: np.ndarray,
    trans: np.ndarray, acc_end: np.ndarray, pre: np.ndarray, start: np.ndarray, shift: int,
    pre2: np.ndarray, start_index: np.ndarray, byte_class: np.ndarray, kw_form: np.ndarray,
    hit_base: np.ndarray,
    hit_pos: np.ndarray, hit_kw: np.ndarray, hit_gap: np.ndarray, hit_end: np.ndarray,
    n_hits: np.ndarray, words: np.ndarray, chars: np.ndarray,
) -> None:  # fmt: skip
    """Keyword hits, words and characters of the traces ``data[offs[i]:offs[i + 1]]``.

    ``hit_base[i]`` is trace ``i``'s first output slot (its capacity is its byte length);
    ``hit_pos`` gets character offsets relative to the trace, ``hit_end`` is scratch. ``pre2`` is
    the flattened ``uint8`` two-byte prefilter.
    """
    for i in prange(offs.shape[0] - 1):
        a = data[offs[i] : offs[i + 1]]
        hb = hit_base[i]
        nh = _find_hits(
            a, trans, acc_end, pre, start, shift, pre2, start_index, byte_class, kw_form,
            hit_pos, hit_kw, hit_end, hb,
        )  # fmt: skip
        n_hits[i] = nh
        words[i], chars[i] = _counts(a, nh, hit_pos, hit_end, hit_gap, hb)
