"""Turn cues, taxonomies and lexicons into the DFA tables the kernels run (cached)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from workbench.analysis._segment import cue_pattern
from workbench.analysis.corpus.regex_dfa import Dfa, UnsupportedPatternError, build_dfa, unique_end
from workbench.analysis.keywords import Lexicon, keyword_form_pattern, normalize_keyword
from workbench.analysis.patterns import OPENING_PREFIX, Taxonomy

__all__ = [
    "KeywordForms",
    "MatchTables",
    "RuleTables",
    "Tables",
    "cue_tables",
    "keyword_forms",
    "match_tables",
    "rule_tables",
]

MAX_RULES_PER_DFA = 64


@dataclass(frozen=True)
class Tables:
    """One DFA as the arrays the kernels take."""

    next_state: np.ndarray
    accept: np.ndarray
    accept_end: np.ndarray
    start: np.ndarray
    viable: np.ndarray

    @classmethod
    def of(cls, dfa: Dfa) -> Tables:
        """Return the tables of ``dfa``."""
        return cls(dfa.next_state, dfa.accept, dfa.accept_end, dfa.start, dfa.viable)

    @classmethod
    def empty(cls) -> Tables:
        """Return a DFA that never accepts."""
        z = np.zeros((1, 256), dtype=np.int32)
        return cls(z, z, np.zeros(1, np.int32), np.zeros(257, np.int32), z != 0)


@dataclass(frozen=True)
class RuleTables:
    """A taxonomy's rules, split into what the kernels run and what Python's ``re`` runs.

    Attributes
    ----------
    names
        Label names in tie-breaking order.
    opening
        DFA over every supported opening rule (with its prefix); accept masks have bit ``l`` for
        label ``l``.
    opening_masks
        ``uint64`` mask per accept code of ``opening``.
    opening_fallback
        ``(label index, compiled rule)`` for opening rules the DFA does not support.
    fast
        The ``anywhere`` rules the DFA runs (column ``k`` of the counts is ``fast[k]``): they
        compile, have at most one match end per start (:func:`unique_end`) and treat the text's
        edges like whitespace.
    n_fast
        ``len(fast)``.
    rule_label
        Label index of each counts column: first the ``n_fast`` DFA rules, then the fallbacks.
    rule_order
        For each label, the counts columns of its rules in the taxonomy's order.
    anywhere_fallback
        Compiled rules for the columns after ``n_fast``.
    """

    names: tuple[str, ...]
    opening: Tables
    opening_masks: np.ndarray
    opening_fallback: tuple[tuple[int, re.Pattern[str]], ...]
    fast: tuple[str, ...]
    n_fast: int
    rule_label: tuple[int, ...]
    rule_order: tuple[tuple[int, ...], ...]
    anywhere_fallback: tuple[re.Pattern[str], ...] = field(default=())


@lru_cache(maxsize=16)
def _single(pattern: str) -> Dfa | None:
    try:
        dfa = build_dfa([pattern])
    except UnsupportedPatternError:
        return None
    return dfa


@lru_cache(maxsize=16)
def rule_tables(taxonomy: Taxonomy) -> RuleTables:
    """Compile ``taxonomy`` (see :class:`RuleTables`)."""
    if len(taxonomy.labels) > 64:
        raise ValueError("the corpus engine supports at most 64 labels per taxonomy")
    compiled = taxonomy.rules
    open_patterns: list[str] = []
    open_ids: list[int] = []
    open_fallback: list[tuple[int, re.Pattern[str]]] = []
    fast: list[tuple[int, int, str]] = []  # (label, position in taxonomy order, pattern)
    slow: list[tuple[int, int, re.Pattern[str]]] = []
    position = 0
    for li, label in enumerate(taxonomy.labels):
        opening_compiled, anywhere_compiled = compiled[label.name]
        for rule, pat in zip(label.opening, opening_compiled, strict=True):
            full = OPENING_PREFIX + rule + ")"
            if _single(full) is None:
                open_fallback.append((li, pat))
            else:
                open_patterns.append(full)
                open_ids.append(li)
        for rule, pat in zip(label.anywhere, anywhere_compiled, strict=True):
            dfa = _single(rule)
            if (
                dfa is None
                or not unique_end(dfa)
                or not dfa.edge_is_space()
                or len(fast) >= MAX_RULES_PER_DFA
            ):
                slow.append((li, position, pat))
            else:
                fast.append((li, position, rule))
            position += 1
    opening = build_dfa(open_patterns, ids=open_ids) if open_patterns else None
    columns = [(li, pos) for li, pos, _ in fast] + [(li, pos) for li, pos, _ in slow]
    order = tuple(
        tuple(c for _, c in sorted((pos, c) for c, (lj, pos) in enumerate(columns) if lj == li))
        for li in range(len(taxonomy.labels))
    )
    return RuleTables(
        names=taxonomy.names,
        opening=Tables.of(opening) if opening else Tables.empty(),
        opening_masks=opening.accept_masks() if opening else np.zeros(1, np.uint64),
        opening_fallback=tuple(open_fallback),
        fast=tuple(r for _, _, r in fast),
        n_fast=len(fast),
        rule_label=tuple(li for li, _ in columns),
        rule_order=order,
        anywhere_fallback=tuple(p for _, _, p in slow),
    )


@lru_cache(maxsize=16)
def cue_tables(cues: tuple[str, ...]) -> Tables:
    """Return the DFA of the segmenter's cue pattern (anchored at a sentence start)."""
    return Tables.of(build_dfa([cue_pattern(cues).pattern]))


@dataclass(frozen=True)
class KeywordForms:
    """A lexicon's distinct normalised keywords (the DFA's keyword ids) and their keywords."""

    forms: tuple[str, ...]
    keywords: tuple[str, ...]


@lru_cache(maxsize=16)
def keyword_forms(lexicon: Lexicon) -> KeywordForms:
    """Return the forms of ``lexicon`` (``find_keywords`` reports the last keyword of a form)."""
    canon: dict[str, str] = {}
    for k in lexicon.keywords:
        canon[normalize_keyword(k)] = k
    forms = tuple(sorted(canon))
    return KeywordForms(forms, tuple(canon[f] for f in forms))


@dataclass(frozen=True)
class MatchTables:
    """One DFA over the fast ``anywhere`` rules and the keyword forms.

    Attributes
    ----------
    dfa
        The tables.
    pre
        ``bool[257, 256]``: whether a run can lead anywhere given the previous byte (256: none)
        and the byte at the start position.
    rule_mask
        ``uint64`` rule bits per accept code.
    trans, shift, byte_class
        ``int32[n_states, n_classes]``: ``next_state | accept << shift`` for the byte's class
        ``byte_class[byte]`` (bytes with identical columns share a class): one small table, one
        load per byte of a run, so that the hot states stay in the L1 cache.
    pre2, start_index
        ``bool[n_starts, 65536]``: whether a run from start state ``start_index[prev]`` can lead
        anywhere given the first two bytes (``b0 << 8 | b1``): fewer runs start.
    kw_form
        Keyword form per accept code (-1: none; at most one form can end at a position).
    """

    dfa: Tables
    pre: np.ndarray
    rule_mask: np.ndarray
    kw_form: np.ndarray
    trans: np.ndarray
    shift: int
    pre2: np.ndarray
    start_index: np.ndarray
    byte_class: np.ndarray


def _byte_classes(trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compress the columns of ``trans[state, byte]``: (table per class, class of each byte)."""
    columns, byte_class = np.unique(trans.T, axis=0, return_inverse=True)
    return np.ascontiguousarray(columns.T), byte_class.reshape(-1).astype(np.int64)


@lru_cache(maxsize=16)
def match_tables(rules: tuple[str, ...], forms: tuple[str, ...]) -> MatchTables:
    """Compile ``rules`` (ids 0..) and keyword ``forms`` (ids after the rules) into one DFA."""
    n_rules = len(rules)
    if n_rules > MAX_RULES_PER_DFA:
        raise ValueError("too many rules for one DFA")
    patterns = [*rules, *(keyword_form_pattern(f) for f in forms)]
    if not patterns:
        t = Tables.empty()
        return MatchTables(t, np.zeros((257, 256), bool), np.zeros(1, np.uint64),
                           np.full(1, -1, np.int32), np.zeros((1, 256), np.int64), 1,
                           np.zeros((1, 65536), bool), np.zeros(257, np.int64),
                           np.zeros(256, np.int64))  # fmt: skip
    dfa = build_dfa(patterns)
    rule_mask = np.zeros(len(dfa.accept_sets), dtype=np.uint64)
    kw_form = np.full(len(dfa.accept_sets), -1, dtype=np.int32)
    for code, ids in enumerate(dfa.accept_sets):
        for i in ids:
            if i < n_rules:
                rule_mask[code] |= np.uint64(1) << np.uint64(i)
            else:
                kw_form[code] = i - n_rules
    pre = dfa.viable[dfa.start]
    shift = max(1, int(dfa.n_states - 1).bit_length())
    packed = dfa.next_state.astype(np.int64) | (dfa.accept.astype(np.int64) << shift)
    if packed.max() >= 2**31:
        raise ValueError("the match DFA is too large (states and accept codes exceed 31 bits)")
    trans, byte_class = _byte_classes(packed.astype(np.int32))
    starts, start_index = np.unique(dfa.start, return_inverse=True)
    live = dfa.viable  # [state, byte]
    pre2 = np.zeros((len(starts), 65536), dtype=bool)
    for i, s0 in enumerate(starts.tolist()):
        t1 = dfa.next_state[s0]  # [b0]
        second = live[t1]  # [b0, b1]
        pre2[i] = ((dfa.accept[s0] != 0)[:, None] | ((t1 != 0)[:, None] & second)).reshape(-1)
    return MatchTables(
        Tables.of(dfa), np.ascontiguousarray(pre), rule_mask, kw_form, trans, shift,
        pre2, start_index.reshape(-1).astype(np.int64), byte_class,
    )  # fmt: skip
