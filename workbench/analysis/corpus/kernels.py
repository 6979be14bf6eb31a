"""numba kernels: one pass per trace over its UTF-8 bytes (segmentation, cue rules, keywords).

Every function here works on byte offsets into one buffer holding many traces back to back and
is compiled with numba (``parallel=True`` over traces, ``nogil=True``, cached on disk). The
semantics are those of :mod:`workbench.analysis._segment`, :mod:`~workbench.analysis.patterns` and
:mod:`~workbench.analysis.keywords`; see ``docs/corpus_analytics.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["CUES", "PARAGRAPHS", "SENTENCES", "WS", "analyze_chunk", "score_segments"]

PARAGRAPHS, SENTENCES, CUES = 0, 1, 2
"""Strategy codes."""

WS = np.zeros(256, dtype=np.bool_)
WS[[9, 10, 11, 12, 13, 32]] = True
"""ASCII whitespace, the only whitespace of segmentation, word counts and ``\\s``."""

_SENT_START = np.zeros(256, dtype=np.bool_)
_SENT_START[[ord(c) for c in "\"'([ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]] = True
_CLOSER = np.zeros(256, dtype=np.bool_)
_CLOSER[[ord(c) for c in "\"')]"]] = True
_PUNCT = np.zeros(256, dtype=np.bool_)
_PUNCT[[ord(c) for c in ".!?"]] = True
_TAIL = _PUNCT | _CLOSER
_TAIL[[0x99, 0x9D]] = True  # last bytes of ’ and ”
_OPENER = _SENT_START.copy()
_OPENER[0xE2] = True  # first byte of “ and ‘


@njit(cache=True, nogil=True, inline="always")
def _prev(data: np.ndarray, pos: int, lo: int) -> int:
    return 256 if pos <= lo else int(data[pos - 1])


@njit(cache=True, nogil=True)
def _any_accept(
    data: np.ndarray, pos: int, lo: int, hi: int,
    nxt: np.ndarray, acc: np.ndarray, acc_end: np.ndarray, start: np.ndarray,
) -> bool:  # fmt: skip
    """Whether an anchored run from ``pos`` accepts (text limits ``[lo, hi)``)."""
    state = start[_prev(data, pos, lo)]
    for q in range(pos, hi):
        b = data[q]
        if acc[state, b] != 0:
            return True
        state = nxt[state, b]
        if state == 0:
            return False
    return acc_end[state] != 0


@njit(cache=True, nogil=True)
def _accept_mask(
    data: np.ndarray, pos: int, hi: int,
    nxt: np.ndarray, acc: np.ndarray, acc_end: np.ndarray, start: np.ndarray, masks: np.ndarray,
) -> np.uint64:  # fmt: skip
    """OR of the accept masks of an anchored run from ``pos`` (the slice starts at ``pos``)."""
    out = np.uint64(0)
    state = start[256]
    for q in range(pos, hi):
        b = data[q]
        code = acc[state, b]
        if code != 0:
            out |= masks[code]
        state = nxt[state, b]
        if state == 0:
            return out
    return out | masks[acc_end[state]]


@njit(cache=True, nogil=True)
def _punct_before(data: np.ndarray, tok_start: int, tok_end: int) -> bool:
    """Whether ``data[tok_start:tok_end]`` ends with ``[.!?]`` and then closing quotes/brackets."""
    k = tok_end - 1
    while k >= tok_start:
        c = data[k]
        if _CLOSER[c]:
            k -= 1
        elif (
            (c == 0x9D or c == 0x99)
            and k - 2 >= tok_start
            and data[k - 1] == 0x80
            and data[k - 2] == 0xE2
        ):
            k -= 3
        else:
            break
    return k >= tok_start and _PUNCT[data[k]]


@njit(cache=True, nogil=True)
def _sentence_opener(data: np.ndarray, pos: int, hi: int) -> bool:
    c = data[pos]
    if _SENT_START[c]:
        return True
    return (
        c == 0xE2
        and pos + 2 < hi
        and data[pos + 1] == 0x80
        and (data[pos + 2] == 0x9C or data[pos + 2] == 0x98)
    )


@njit(cache=True, nogil=True)
def _gap_flags(data: np.ndarray, a: int, b: int) -> tuple[bool, bool]:
    """Whether the whitespace ``data[a:b]`` has a newline, and a ``\\n[ \\t]*\\n``."""
    nl = False
    par = False
    blank = False
    for g in range(a, b):
        c = data[g]
        if c == 10:
            if nl and blank:
                par = True
            nl = True
            blank = True
        elif c != 32 and c != 9:
            blank = False
    return nl, par


@njit(cache=True, nogil=True)
def _segment_trace(
    data: np.ndarray, lo: int, hi: int, strategy: int,
    cue_nxt: np.ndarray, cue_acc: np.ndarray, cue_end: np.ndarray, cue_start: np.ndarray,
    out_s: np.ndarray, out_e: np.ndarray, base: int,
) -> tuple[int, int]:  # fmt: skip
    """Write the unmerged segments' byte spans at ``out_*[base:]``; return (count, words).

    Walks the bytes once, a tight loop over each whitespace gap (noting a newline) and each
    token, keeping the previous token's end and last byte; at a token that may start a sentence
    (a newline in the gap, or ``[.!?]``-ish before and an opener here) it decides exactly whether
    a segment starts there: a paragraph break (``\\n[ \\t]*\\n`` in the gap), a sentence start (a newline in
    the gap, or ``[.!?]`` plus closers ending the previous token and an opener starting this
    one) and, for ``cues``, a cue matched at the token.
    """
    n = 0
    words = 0
    seg_start = -1
    tok_end = lo
    last = 32
    j = lo
    while True:
        gap_nl = False  # a newline in the whitespace before the token at j
        while j < hi:
            c = data[j]
            if not WS[c]:
                break
            if c == 10:
                gap_nl = True
            j += 1
        if j >= hi:
            break
        c = data[j]
        words += 1
        if seg_start < 0:
            seg_start = j
        elif gap_nl or (_TAIL[last] and _OPENER[c]):
            nl, par = _gap_flags(data, tok_end, j)
            if strategy == PARAGRAPHS:
                boundary = par
            else:
                sentence = nl or (
                    _sentence_opener(data, j, hi) and _punct_before(data, lo, tok_end)
                )
                if strategy == SENTENCES:
                    boundary = sentence
                else:
                    boundary = par or (
                        sentence
                        and _any_accept(data, j, lo, hi, cue_nxt, cue_acc, cue_end, cue_start)
                    )
            if boundary:
                out_s[base + n] = seg_start
                out_e[base + n] = tok_end
                n += 1
                seg_start = j
        j += 1
        while j < hi and not WS[data[j]]:
            j += 1
        tok_end = j
        last = data[j - 1]
    if seg_start < 0:
        return 0, 0
    out_s[base + n] = seg_start
    out_e[base + n] = tok_end
    return n + 1, words


@njit(cache=True, nogil=True)
def _merge_short(
    s: np.ndarray, e: np.ndarray, cs: np.ndarray, ce: np.ndarray, base: int, n: int,
    min_chars: int,
) -> int:  # fmt: skip
    """``segment._merge_short`` in place (lengths from the char spans ``cs``/``ce``)."""
    m = 0
    for i in range(base, base + n):
        if m > 0 and ce[i] - cs[i] < min_chars:
            e[base + m - 1] = e[i]
            ce[base + m - 1] = ce[i]
        else:
            s[base + m] = s[i]
            e[base + m] = e[i]
            cs[base + m] = cs[i]
            ce[base + m] = ce[i]
            m += 1
    if m > 1 and ce[base] - cs[base] < min_chars:
        e[base] = e[base + 1]
        ce[base] = ce[base + 1]
        for i in range(base + 1, base + m - 1):
            s[i] = s[i + 1]
            e[i] = e[i + 1]
            cs[i] = cs[i + 1]
            ce[i] = ce[i + 1]
        m -= 1
    return m


@njit(cache=True, nogil=True)
def _match_trace(
    data: np.ndarray, lo: int, hi: int,
    seg_s: np.ndarray, seg_e: np.ndarray, sb: int, n: int,
    trans: np.ndarray, acc_end: np.ndarray, pre: np.ndarray, start: np.ndarray, shift: int,
    pre2: np.ndarray, start_index: np.ndarray, byte_class: np.ndarray,
    rule_mask: np.ndarray, kw_form: np.ndarray, n_rules: int, do_rules: bool, do_kw: bool,
    counts: np.ndarray, cursor: np.ndarray,
    hit_pos: np.ndarray, hit_kw: np.ndarray, hit_end: np.ndarray, hb: int,
) -> int:  # fmt: skip
    """Count rule matches per segment and find keyword hits; return the number of hits.

    A hit's start (relative to ``lo``) and end go to ``hit_pos`` and ``hit_end`` (bytes).

    One DFA holds the ``anywhere`` rules (accept bits in ``rule_mask``) and the keyword forms
    (``kw_form``); ``trans[state, byte]`` packs the next state (low ``shift`` bits) and the accept
    code (high bits). Runs start wherever ``pre[previous byte, byte]`` says one can lead
    anywhere. A rule match counts for the segment its start lies in when it ends inside it and
    starts at or after the end of the rule's previous match (``finditer``); a keyword hit is the
    longest match at a position at or after the end of the previous hit.
    """
    low = (1 << shift) - 1
    for r in range(n_rules):
        cursor[r] = lo
    k = 0
    kw_cursor = lo
    nh = 0
    prev = 256
    for p in range(lo, hi):
        b = data[p]
        go = (
            pre2[start_index[prev], (np.int64(b) << 8) | data[p + 1]]
            if p + 1 < hi
            else pre[prev, b]
        )
        if go:
            while k < n and p >= seg_e[sb + k]:
                k += 1
            in_seg = k < n and p >= seg_s[sb + k]
            rules_on = do_rules and in_seg
            kw_on = do_kw and p >= kw_cursor
            if rules_on or kw_on:
                se = seg_e[sb + k] if in_seg else -1
                state = start[prev]
                kend = -1
                kform = -1
                q = p
                while True:
                    if q < hi:
                        v = trans[state, byte_class[data[q]]]
                        code = v >> shift
                        state = v & low
                    else:
                        code = acc_end[state]
                        state = 0
                    if code != 0:
                        if rules_on and q <= se:
                            m = rule_mask[code]
                            if m != 0:
                                for r in range(n_rules):
                                    if (m >> np.uint64(r)) & np.uint64(1) and cursor[r] <= p:
                                        cursor[r] = q
                                        if counts[sb + k, r] < 65535:
                                            counts[sb + k, r] += 1
                        if kw_on and kw_form[code] >= 0:
                            kend = q
                            kform = kw_form[code]
                    if state == 0:
                        break
                    q += 1
                if kend > p:
                    hit_pos[hb + nh] = p - lo
                    hit_kw[hb + nh] = kform
                    hit_end[hb + nh] = kend - lo
                    kw_cursor = kend
                    nh += 1
        prev = b
    return nh


@njit(cache=True, nogil=True)
def _score(
    opened: np.uint64, counts: np.ndarray, row: int, order_ptr: np.ndarray,
    order_cols: np.ndarray, weight: float, cap: int, n_labels: int,
) -> tuple[int, float, float]:  # fmt: skip
    """``rule_label``'s arithmetic for one segment: (winner, its score, the total).

    Scores add up in the same order as in Python (so the floats are identical): per label the
    opening weight, then each rule's capped count in the taxonomy's order; the total sums the
    labels in order; ties go to the earlier label; the winner is ``n_labels`` (the default
    label) when the total is 0.
    """
    tot = 0.0
    top = -1.0
    arg = 0
    for li in range(n_labels):
        score = 0.0
        if (opened >> np.uint64(li)) & np.uint64(1):
            score += weight
        for j in range(order_ptr[li], order_ptr[li + 1]):
            v = counts[row, order_cols[j]]
            score += min(cap, v)
        tot += score
        if score > top:
            top = score
            arg = li
    return (arg if tot != 0.0 else n_labels), top, tot


@njit(cache=True, nogil=True, parallel=True)
def score_segments(
    opened: np.ndarray, counts: np.ndarray, order_ptr: np.ndarray, order_cols: np.ndarray,
    weight: float, cap: int, n_labels: int,
    label: np.ndarray, best: np.ndarray, total: np.ndarray,
) -> None:  # fmt: skip
    """:func:`_score` for every segment (winner index, its score, the total)."""
    for i in prange(opened.shape[0]):
        label[i], best[i], total[i] = _score(
            opened[i], counts, i, order_ptr, order_cols, weight, cap, n_labels
        )


@njit(cache=True, nogil=True, inline="always")
def _cont(a: np.ndarray, s: int, e: int) -> int:
    """UTF-8 continuation bytes in ``a[s:e]`` (a loop the compiler vectorises)."""
    c = np.int64(0)
    for i in range(s, e):
        c += np.int64((a[np.uint64(i)] & np.uint8(0xC0)) == np.uint8(0x80))
    return int(c)


@njit(cache=True, nogil=True)
def _to_chars_spans(
    data: np.ndarray, s: np.ndarray, e: np.ndarray, cs: np.ndarray, ce: np.ndarray,
    base: int, n: int, lo: int, hi: int,
) -> int:  # fmt: skip
    """Write character spans (relative to ``lo``); return the trace's character count.

    The byte spans ``s[i] <= e[i] <= s[i + 1]`` at ``base`` are sorted.
    """
    a = data[lo:hi]
    q = 0
    cont = 0
    for i in range(base, base + n):
        x = s[i] - lo
        cont += _cont(a, q, x)
        cs[i] = x - cont
        y = e[i] - lo
        cont += _cont(a, x, y)
        ce[i] = y - cont
        q = y
    return (hi - lo) - cont - _cont(a, q, hi - lo)


@njit(cache=True, nogil=True, inline="always")
def _ws(x: np.uint8) -> bool:
    """ASCII whitespace (``\\s`` under ``re.ASCII``), without a table."""
    return (x == np.uint8(32)) | ((x - np.uint8(9)) < np.uint8(5))


@njit(cache=True, nogil=True, inline="always")
def _piece(a: np.ndarray, s: int, e: int) -> tuple[int, int]:
    """Count (word starts, continuation bytes) in ``a[s:e]``, ``s >= 1``.

    A word starts at ``i`` when ``a[i]`` is not whitespace and ``a[i - 1]`` is.
    """
    w = np.int64(0)
    c = np.int64(0)
    for i in range(s, e):
        u = np.uint64(i)
        x = a[u]
        c += np.int64((x & np.uint8(0xC0)) == np.uint8(0x80))
        w += np.int64(_ws(a[u - np.uint64(1)]) & ~_ws(x))
    return int(w), int(c)


@njit(cache=True, nogil=True)
def _counts(
    a: np.ndarray, nh: int, hit_pos: np.ndarray, hit_end: np.ndarray, hit_gap: np.ndarray,
    hb: int,
) -> tuple[int, int]:  # fmt: skip
    """Turn hit offsets into characters and fill the gaps; return (words, characters) of ``a``.

    The hits are those of :func:`_find_hits` (byte offsets).
    The gap before hit ``i > 0`` is ``count_words`` of ``a[end of hit i - 1 : start of hit i]``:
    the word starts inside it, plus one when it begins inside a run (``wait,``: the comma).
    """
    n = a.shape[0]
    if n == 0:
        return 0, 0
    words = 0 if _ws(a[0]) else 1
    cont = 0
    q = 1  # counted up to q
    for k in range(hb, hb + nh):
        p = hit_pos[k]
        if k > hb:
            e = hit_end[k - 1]
            w, c = _piece(a, q, e)  # inside the previous hit
            words += w
            cont += c
            w, c = _piece(a, e, p)
            inside = (
                (not _ws(a[np.uint64(e)])) and (not _ws(a[np.uint64(e - 1)])) if e < p else False
            )
            hit_gap[k - 1] = w + (1 if inside else 0)
            words += w
            cont += c
        else:
            w, c = _piece(a, q, p)
            words += w
            cont += c
        q = max(p, 1)
        hit_pos[k] = p - cont
    w, c = _piece(a, q, n)
    return words + w, n - cont - c


@njit(cache=True, nogil=True, parallel=True)
def analyze_chunk(
    data: np.ndarray, offs: np.ndarray, strategy: int, min_chars: int,
    cue_nxt: np.ndarray, cue_acc: np.ndarray, cue_end: np.ndarray, cue_start: np.ndarray,
    do_labels: bool,
    op_nxt: np.ndarray, op_acc: np.ndarray, op_end: np.ndarray, op_start: np.ndarray,
    op_masks: np.ndarray,
    m_trans: np.ndarray, m_end: np.ndarray, m_pre: np.ndarray, m_start: np.ndarray,
    m_shift: int, m_pre2: np.ndarray, m_start_index: np.ndarray, m_byte_class: np.ndarray,
    m_rule_mask: np.ndarray, m_kw_form: np.ndarray, n_rules: int,
    do_keywords: bool,
    do_score: bool, order_ptr: np.ndarray, order_cols: np.ndarray, weight: float, cap: int,
    n_labels: int, conf_table: np.ndarray, conf_width: int,
    seg_base: np.ndarray, hit_base: np.ndarray,
    seg_s: np.ndarray, seg_e: np.ndarray, seg_cs: np.ndarray, seg_ce: np.ndarray,
    seg_open: np.ndarray, seg_counts: np.ndarray,
    seg_label: np.ndarray, seg_best: np.ndarray, seg_total: np.ndarray, seg_conf: np.ndarray,
    hit_pos: np.ndarray, hit_kw: np.ndarray, hit_gap: np.ndarray, hit_end: np.ndarray,
    n_segs: np.ndarray, n_hits: np.ndarray, words: np.ndarray, chars: np.ndarray,
) -> None:  # fmt: skip
    """Analyse the traces ``data[offs[i]:offs[i + 1]]`` (see the module docstring).

    ``seg_s``/``seg_e`` get absolute byte spans, ``seg_cs``/``seg_ce`` character spans relative
    to the trace, ``hit_pos`` character offsets; ``seg_base``/``hit_base`` give each trace's
    first output slot (its capacity is bounded by its byte length). With ``do_score`` each
    segment is also scored (:func:`_score`) into ``seg_label``/``seg_best``/``seg_total``, and
    ``seg_conf`` gets ``conf_table[best * conf_width + total]`` (the rounded share; 0 when the
    total is 0) when ``conf_width > 0``.
    """
    n_traces = offs.shape[0] - 1
    for i in prange(n_traces):
        lo = offs[i]
        hi = offs[i + 1]
        sb = seg_base[i]
        n, w = _segment_trace(
            data, lo, hi, strategy, cue_nxt, cue_acc, cue_end, cue_start, seg_s, seg_e, sb
        )
        words[i] = w
        chars[i] = _to_chars_spans(data, seg_s, seg_e, seg_cs, seg_ce, sb, n, lo, hi)
        if strategy != SENTENCES:
            n = _merge_short(seg_s, seg_e, seg_cs, seg_ce, sb, n, min_chars)
        n_segs[i] = n
        if do_labels:
            for k in range(sb, sb + n):
                seg_open[k] = _accept_mask(
                    data, seg_s[k], seg_e[k], op_nxt, op_acc, op_end, op_start, op_masks
                )
        if do_labels and n_rules > 0:
            for k in range(sb, sb + n):  # the buffers are reused from chunk to chunk
                for r in range(n_rules):
                    seg_counts[k, r] = 0
        if (do_labels and n_rules > 0) or do_keywords:
            cursor = np.empty(max(n_rules, 1), dtype=np.int64)
            hb = hit_base[i]
            nh = _match_trace(
                data, lo, hi, seg_s, seg_e, sb, n,
                m_trans, m_end, m_pre, m_start, m_shift, m_pre2, m_start_index, m_byte_class,
                m_rule_mask, m_kw_form, n_rules,
                do_labels and n_rules > 0, do_keywords,
                seg_counts, cursor, hit_pos, hit_kw, hit_end, hb,
            )  # fmt: skip
            n_hits[i] = nh
            _counts(data[lo:hi], nh, hit_pos, hit_end, hit_gap, hb)
        if do_score:
            for k in range(sb, sb + n):
                lab, top, tot = _score(
                    seg_open[k], seg_counts, k, order_ptr, order_cols, weight, cap, n_labels
                )
                seg_label[k] = lab
                seg_best[k] = top
                seg_total[k] = tot
                if conf_width > 0:
                    seg_conf[k] = (
                        conf_table[np.int64(top) * conf_width + np.int64(tot)]
                        if tot != 0.0
                        else 0.0
                    )
