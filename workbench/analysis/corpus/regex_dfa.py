"""Compile a Python regular expression into a byte-level DFA with word-boundary guards.

The corpus engine runs cue rules over UTF-8 bytes. This module turns the parse tree of a Python
pattern (``re._parser``, compiled with ``re.IGNORECASE | re.ASCII``) into an NFA over bytes and
determinises it. The supported syntax is what cue rules use: literals (any Unicode character, as
its UTF-8 bytes), classes (``[...]``, ``\\d``, ``\\s``, ``\\w`` and their negations, ``.``),
alternation, groups, greedy and lazy repetition, and the zero-width assertions that look at one
character on either side: ``\\b``, ``\\B``, ``^``, ``\\A``, ``\\Z`` and one-character lookarounds
such as ``(?!\\w)`` or ``(?<!\\w)``. Anything else (backreferences, longer lookarounds, ``$``,
possessive or atomic groups, multi-line mode, case-insensitive non-ASCII letters) raises
:class:`UnsupportedPatternError`, and the caller falls back to Python's ``re``.

Guards are decided on the previous and the next byte (or the start/end of the text): with
``re.ASCII`` every word character is one byte, and a non-ASCII character is never a word character,
so a one-character assertion can be decided from the byte next to it (the lead byte after, a
continuation byte before).

A DFA here is a Mealy machine: ``next_state[s, b]`` is the state after reading byte ``b`` and
``accept[s, b]`` the code of the accepting patterns that *end just before* ``b`` given that ``b``
comes next (``accept_end[s]``: at the end of the text). Codes index :attr:`Dfa.accept_sets`; 0
means none. State 0 is the dead state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import numpy as np

__all__ = ["FLAGS", "Dfa", "UnsupportedPatternError", "build_dfa", "min_width"]

FLAGS = re.IGNORECASE | re.ASCII
"""The flags every cue rule and keyword pattern is compiled with."""

EDGE = 256
"""Stands for the start of the text (as the previous byte) or its end (as the next byte)."""

MAX_STATES = 50_000
MAX_UNROLL = 64
_ALL_ASCII = (1 << 128) - 1
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACE = frozenset(b" \t\n\r\x0b\x0c")
_DIGIT = frozenset(b"0123456789")


class UnsupportedPatternError(ValueError):
    """The pattern uses syntax the byte-level compiler does not handle."""


def min_width(pattern: str) -> int:
    """Return the minimum number of characters a match of ``pattern`` has (0: it can be empty)."""
    return int(sre_parse.parse(pattern, FLAGS).getwidth()[0])


# -- character classes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Class:
    """A set of characters: an ASCII bit set plus the non-ASCII part (``"all"`` or explicit)."""

    ascii: int
    other: frozenset[int] | str  # explicit code points >= 128, or "all"

    def negate(self) -> _Class:
        if isinstance(self.other, str):
            return _Class(~self.ascii & _ALL_ASCII, frozenset())
        if self.other:
            raise UnsupportedPatternError("negated class with non-ASCII members")
        return _Class(~self.ascii & _ALL_ASCII, "all")

    def union(self, other: _Class) -> _Class:
        if isinstance(self.other, str) or isinstance(other.other, str):
            return _Class(self.ascii | other.ascii, "all")
        return _Class(self.ascii | other.ascii, self.other | other.other)

    def byte_test(self) -> np.ndarray:
        """Membership of the character a byte starts (or ends), for the bytes 0-255 and EDGE."""
        out = np.zeros(EDGE + 1, dtype=bool)
        for b in range(128):
            out[b] = bool(self.ascii >> b & 1)
        if isinstance(self.other, str):
            out[128:EDGE] = True
        elif self.other:
            raise UnsupportedPatternError("lookaround on explicit non-ASCII characters")
        return out


def _bits(chars: frozenset[int] | set[int]) -> int:
    v = 0
    for c in chars:
        v |= 1 << c
    return v


_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: _Class(_bits(_DIGIT), frozenset()),
    sre_c.CATEGORY_SPACE: _Class(_bits(_SPACE), frozenset()),
    sre_c.CATEGORY_WORD: _Class(_bits(_WORD), frozenset()),
}
_NOT_CATEGORIES = {
    sre_c.CATEGORY_NOT_DIGIT: sre_c.CATEGORY_DIGIT,
    sre_c.CATEGORY_NOT_SPACE: sre_c.CATEGORY_SPACE,
    sre_c.CATEGORY_NOT_WORD: sre_c.CATEGORY_WORD,
}


def _char_class(code: int, icase: bool) -> _Class:
    if code < 128:
        chars = {code}
        if icase and chr(code).isalpha():
            chars |= {ord(chr(code).lower()), ord(chr(code).upper())}
        return _Class(_bits(chars), frozenset())
    return _Class(0, frozenset({code}))


def _category(cat: Any) -> _Class:
    if cat in _CATEGORIES:
        return _CATEGORIES[cat]
    if cat in _NOT_CATEGORIES:
        return _CATEGORIES[_NOT_CATEGORIES[cat]].negate()
    raise UnsupportedPatternError(f"category {cat}")


def _in_class(items: Sequence[Any], icase: bool) -> _Class:
    cls = _Class(0, frozenset())
    negate = False
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            cls = cls.union(_char_class(av, icase))
        elif op is sre_c.RANGE:
            lo, hi = av
            if hi >= 128 and hi - max(lo, 128) > 4096:
                raise UnsupportedPatternError("large non-ASCII range")
            for c in range(lo, hi + 1):
                cls = cls.union(_char_class(c, icase))
        elif op is sre_c.CATEGORY:
            cls = cls.union(_category(av))
        else:
            raise UnsupportedPatternError(f"class item {op}")
    return cls.negate() if negate else cls


def _any_class(dotall: bool) -> _Class:
    return _Class(_ALL_ASCII if dotall else _ALL_ASCII & ~(1 << 10), "all")


# -- guards --------------------------------------------------------------------------------------
def _guard_table(kind: str, test: np.ndarray | None = None) -> np.ndarray:
    """``table[prev, next]`` for the bytes 0-255 and EDGE (start / end of the text)."""
    word = np.zeros(EDGE + 1, dtype=bool)
    word[list(_WORD)] = True
    if kind == "boundary":
        return word[:, None] != word[None, :]
    if kind == "nonboundary":
        return word[:, None] == word[None, :]
    if kind == "start":
        return np.repeat((np.arange(EDGE + 1) == EDGE)[:, None], EDGE + 1, axis=1)
    if kind == "end":
        return np.repeat((np.arange(EDGE + 1) == EDGE)[None, :], EDGE + 1, axis=0)
    assert test is not None
    if kind == "ahead":
        return np.repeat(test[None, :], EDGE + 1, axis=0)
    if kind == "behind":
        return np.repeat(test[:, None], EDGE + 1, axis=1)
    raise AssertionError(kind)


# -- NFA -----------------------------------------------------------------------------------------
class _Nfa:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.guarded: list[list[tuple[int, int]]] = []
        self.edges: list[list[tuple[int, int]]] = []  # (mask id, target)
        self.accept: list[int] = []
        self.masks: list[int] = []
        self._mask_ids: dict[int, int] = {}
        self.guards: list[np.ndarray] = []
        self._guard_ids: dict[bytes, int] = {}

    def node(self) -> int:
        self.eps.append([])
        self.guarded.append([])
        self.edges.append([])
        self.accept.append(-1)
        return len(self.eps) - 1

    def mask(self, byte_set: int) -> int:
        if byte_set not in self._mask_ids:
            self._mask_ids[byte_set] = len(self.masks)
            self.masks.append(byte_set)
        return self._mask_ids[byte_set]

    def guard(self, table: np.ndarray) -> int:
        key = np.packbits(table).tobytes()
        if key not in self._guard_ids:
            self._guard_ids[key] = len(self.guards)
            self.guards.append(table)
        return self._guard_ids[key]

    def byte_edge(self, a: int, byte_set: int, b: int) -> None:
        self.edges[a].append((self.mask(byte_set), b))

    # fragments: (start, end)
    def chars(self, cls: _Class) -> tuple[int, int]:
        start, end = self.node(), self.node()
        if cls.ascii:
            self.byte_edge(start, cls.ascii, end)
        if isinstance(cls.other, str):
            cont = _bits(set(range(0x80, 0xC0)))
            self._utf8_tail(start, _bits(set(range(0xC2, 0xE0))), [cont], end)
            self._utf8_tail(start, _bits(set(range(0xE0, 0xF0))), [cont, cont], end)
            self._utf8_tail(start, _bits(set(range(0xF0, 0xF5))), [cont, cont, cont], end)
        else:
            for code in sorted(cls.other):
                data = chr(code).encode("utf-8", "surrogatepass")
                self._utf8_tail(start, 1 << data[0], [1 << b for b in data[1:]], end)
        return start, end

    def _utf8_tail(self, start: int, lead: int, rest: list[int], end: int) -> None:
        cur = start
        for byte_set in [lead, *rest[:-1]] if rest else []:
            nxt = self.node()
            self.byte_edge(cur, byte_set, nxt)
            cur = nxt
        self.byte_edge(cur, rest[-1] if rest else lead, end)

    def assertion(self, table: np.ndarray) -> tuple[int, int]:
        start, end = self.node(), self.node()
        self.guarded[start].append((self.guard(table), end))
        return start, end


def _build(nfa: _Nfa, items: Any, flags: int) -> tuple[int, int]:
    start = nfa.node()
    cur = start
    for op, av in items:
        s, e = _build_item(nfa, op, av, flags)
        nfa.eps[cur].append(s)
        cur = e
    return start, cur


def _build_item(nfa: _Nfa, op: Any, av: Any, flags: int) -> tuple[int, int]:
    icase = bool(flags & re.IGNORECASE)
    if op is sre_c.LITERAL:
        return nfa.chars(_char_class(av, icase))
    if op is sre_c.NOT_LITERAL:
        return nfa.chars(_char_class(av, icase).negate())
    if op is sre_c.IN:
        return nfa.chars(_in_class(av, icase))
    if op is sre_c.ANY:
        return nfa.chars(_any_class(bool(flags & re.DOTALL)))
    if op is sre_c.BRANCH:
        start, end = nfa.node(), nfa.node()
        for alt in av[1]:
            s, e = _build(nfa, alt, flags)
            nfa.eps[start].append(s)
            nfa.eps[e].append(end)
        return start, end
    if op is sre_c.SUBPATTERN:
        _group, add, delete, sub = av
        if (add | delete) & ~(re.IGNORECASE | re.DOTALL):
            raise UnsupportedPatternError("inline flags")
        return _build(nfa, sub, (flags | add) & ~delete)
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        lo, hi, sub = av
        infinite = hi is sre_c.MAXREPEAT
        if lo > MAX_UNROLL or (not infinite and hi > MAX_UNROLL):
            raise UnsupportedPatternError("repetition count too large to unroll")
        start = nfa.node()
        cur = start
        for _ in range(lo):
            s, e = _build(nfa, sub, flags)
            nfa.eps[cur].append(s)
            cur = e
        end = nfa.node()
        if infinite:
            s, e = _build(nfa, sub, flags)
            nfa.eps[cur].append(s)
            nfa.eps[e].append(cur)
            nfa.eps[cur].append(end)
        else:
            for _ in range(hi - lo):
                nfa.eps[cur].append(end)
                s, e = _build(nfa, sub, flags)
                nfa.eps[cur].append(s)
                cur = e
            nfa.eps[cur].append(end)
        return start, end
    if op is sre_c.AT:
        if av is sre_c.AT_BOUNDARY:
            return nfa.assertion(_guard_table("boundary"))
        if av is sre_c.AT_NON_BOUNDARY:
            return nfa.assertion(_guard_table("nonboundary"))
        if av is sre_c.AT_BEGINNING_STRING or (
            av is sre_c.AT_BEGINNING and not flags & re.MULTILINE
        ):
            return nfa.assertion(_guard_table("start"))
        if av is sre_c.AT_END_STRING:
            return nfa.assertion(_guard_table("end"))
        raise UnsupportedPatternError(f"anchor {av}")
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        direction, sub = av
        if len(sub) != 1:
            raise UnsupportedPatternError("lookaround longer than one character")
        sub_op, sub_av = sub[0]
        icase = bool(flags & re.IGNORECASE)
        if sub_op is sre_c.LITERAL:
            cls = _char_class(sub_av, icase)
        elif sub_op is sre_c.NOT_LITERAL:
            cls = _char_class(sub_av, icase).negate()
        elif sub_op is sre_c.IN:
            cls = _in_class(sub_av, icase)
        elif sub_op is sre_c.ANY:
            cls = _any_class(bool(flags & re.DOTALL))
        else:
            raise UnsupportedPatternError("lookaround that is not one character")
        test = cls.byte_test()
        test[EDGE] = False
        if op is sre_c.ASSERT_NOT:
            test = ~test
        return nfa.assertion(_guard_table("ahead" if direction == 1 else "behind", test))
    raise UnsupportedPatternError(f"{op}")


# -- DFA -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dfa:
    """A determinised set of patterns (see the module docstring).

    Attributes
    ----------
    next_state
        ``int32[n_states, 256]``; state 0 is dead.
    accept
        ``int32[n_states, 256]``: accept code for a match ending before that byte.
    accept_end
        ``int32[n_states]``: accept code for a match ending at the end of the text.
    start
        ``int32[257]``: the start state given the byte before the start position (256: none).
    accept_sets
        The pattern ids of each accept code (code 0: the empty set).
    viable
        ``bool[n_states, 256]``: whether reading that byte can lead anywhere (a match or a live
        state); used to skip start positions cheaply.
    """

    next_state: np.ndarray
    accept: np.ndarray
    accept_end: np.ndarray
    start: np.ndarray
    accept_sets: tuple[frozenset[int], ...]
    viable: np.ndarray
    prev_class: np.ndarray
    next_class: np.ndarray

    def edge_is_space(self) -> bool:
        """Whether the patterns treat the start/end of the text like ASCII whitespace around it.

        Then a match inside a segment (which always has whitespace or the text's edge on both
        sides) can be found on the whole text without changing it.
        """
        ws = list(b" \t\n\r\x0b\x0c")
        return bool(
            (self.prev_class[ws] == self.prev_class[EDGE]).all()
            and (self.next_class[ws] == self.next_class[EDGE]).all()
        )

    @property
    def n_states(self) -> int:
        """Number of states, the dead state included."""
        return int(self.next_state.shape[0])

    def accept_masks(self) -> np.ndarray:
        """``uint64`` bit mask of pattern ids per accept code (ids must be < 64)."""
        out = np.zeros(len(self.accept_sets), dtype=np.uint64)
        for code, ids in enumerate(self.accept_sets):
            for i in ids:
                if i >= 64:
                    raise ValueError("at most 64 patterns per DFA for bit masks")
                out[code] |= np.uint64(1) << np.uint64(i)
        return out

    def accept_first(self) -> np.ndarray:
        """Return the smallest pattern id per accept code (-1 for none)."""
        return np.array([min(ids) if ids else -1 for ids in self.accept_sets], dtype=np.int32)

    def run(self, data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """Return ``(end, code)`` of every accept from an anchored run at ``start`` (for tests)."""
        end = len(data) if end is None else end
        state = int(self.start[data[start - 1] if start > 0 else EDGE])
        out = []
        for i in range(start, end):
            b = data[i]
            if self.accept[state, b]:
                out.append((i, int(self.accept[state, b])))
            state = int(self.next_state[state, b])
            if state == 0:
                return out
        if self.accept_end[state]:
            out.append((end, int(self.accept_end[state])))
        return out


def build_dfa(patterns: Sequence[str], *, ids: Sequence[int] | None = None) -> Dfa:
    """Determinise ``patterns`` (compiled with :data:`FLAGS`) into one anchored DFA.

    Parameters
    ----------
    patterns
        Python regular expressions.
    ids
        The id each pattern accepts with (default: its index).

    Raises
    ------
    UnsupportedPatternError
        For syntax outside the supported subset, or a DFA over :data:`MAX_STATES` states.
    """
    ids = list(range(len(patterns))) if ids is None else list(ids)
    nfa = _Nfa()
    root = nfa.node()
    for pid, pattern in zip(ids, patterns, strict=True):
        try:
            tree = sre_parse.parse(pattern, FLAGS)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
        s, e = _build(nfa, tree.data, tree.state.flags)
        nfa.eps[root].append(s)
        acc = nfa.node()
        nfa.eps[e].append(acc)
        nfa.accept[acc] = pid
    return _determinise(nfa, root)


def _partition(columns: list[np.ndarray]) -> np.ndarray:
    """Class id per row so that rows with equal values in every column share a class."""
    if not columns:
        return np.zeros(EDGE + 1, dtype=np.int32)
    stacked = np.stack(columns, axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int32)


def _determinise(nfa: _Nfa, root: int) -> Dfa:
    guards = nfa.guards
    # prev classes: rows of every guard table; next classes: columns
    prev_cls = _partition([g for table in guards for g in table.T])
    next_cls = _partition([g for table in guards for g in table])
    prev_rep = {int(c): int(np.flatnonzero(prev_cls == c)[0]) for c in np.unique(prev_cls)}
    next_rep = {int(c): int(np.flatnonzero(next_cls == c)[0]) for c in np.unique(next_cls)}
    mask_bits = np.array(
        [[bool(m >> b & 1) for m in nfa.masks] for b in range(256)], dtype=bool
    ).reshape(256, len(nfa.masks))
    byte_cls = _partition(
        [prev_cls[:256], next_cls[:256], *[mask_bits[:, j] for j in range(len(nfa.masks))]]
        if len(nfa.masks)
        else [prev_cls[:256], next_cls[:256]]
    )[:256]
    byte_rep = {int(c): int(np.flatnonzero(byte_cls == c)[0]) for c in np.unique(byte_cls)}

    closure_cache: dict[tuple[frozenset[int], int, int], frozenset[int]] = {}

    def closure(kernel: frozenset[int], pc: int, nc: int) -> frozenset[int]:
        key = (kernel, pc, nc)
        hit = closure_cache.get(key)
        if hit is not None:
            return hit
        prev_b, next_b = prev_rep[pc], next_rep[nc]
        seen = set(kernel)
        stack = list(kernel)
        while stack:
            s = stack.pop()
            for t in nfa.eps[s]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
            for g, t in nfa.guarded[s]:
                if t not in seen and guards[g][prev_b, next_b]:
                    seen.add(t)
                    stack.append(t)
        out = frozenset(seen)
        closure_cache[key] = out
        return out

    accept_codes: dict[frozenset[int], int] = {frozenset(): 0}

    def accepts(states: frozenset[int]) -> int:
        ids = frozenset(nfa.accept[s] for s in states if nfa.accept[s] >= 0)
        if ids not in accept_codes:
            accept_codes[ids] = len(accept_codes)
        return accept_codes[ids]

    state_ids: dict[tuple[frozenset[int], int], int] = {}
    order: list[tuple[frozenset[int], int]] = [(frozenset(), -1)]
    state_ids[order[0]] = 0

    def state_of(kernel: frozenset[int], pc: int) -> int:
        key = (kernel, pc) if kernel else (frozenset(), -1)
        if key not in state_ids:
            if len(order) >= MAX_STATES:
                raise UnsupportedPatternError("DFA too large")
            state_ids[key] = len(order)
            order.append(key)
        return state_ids[key]

    start = np.zeros(EDGE + 1, dtype=np.int32)
    for prev in range(EDGE + 1):
        start[prev] = state_of(frozenset({root}), int(prev_cls[prev]))

    rows_next: list[np.ndarray] = []
    rows_acc: list[np.ndarray] = []
    acc_end: list[int] = []
    i = 0
    while i < len(order):
        kernel, pc = order[i]
        nxt = np.zeros(256, dtype=np.int32)
        acc = np.zeros(256, dtype=np.int32)
        if kernel:
            for bc, b in byte_rep.items():
                closed = closure(kernel, pc, int(next_cls[b]))
                code = accepts(closed)
                target = frozenset(
                    t for s in closed for m, t in nfa.edges[s] if nfa.masks[m] >> b & 1
                )
                sid = state_of(target, int(prev_cls[b]))
                sel = byte_cls == bc
                nxt[sel] = sid
                acc[sel] = code
            acc_end.append(accepts(closure(kernel, pc, int(next_cls[EDGE]))))
        else:
            acc_end.append(0)
        rows_next.append(nxt)
        rows_acc.append(acc)
        i += 1
    next_state = np.stack(rows_next)
    accept = np.stack(rows_acc)
    sets = [frozenset[int]()] * len(accept_codes)
    for ids, code in accept_codes.items():
        sets[code] = ids
    return Dfa(
        next_state=next_state,
        accept=accept,
        accept_end=np.array(acc_end, dtype=np.int32),
        start=start,
        accept_sets=tuple(sets),
        viable=(next_state != 0) | (accept != 0),
        prev_class=prev_cls,
        next_class=next_cls,
    )


def unique_end(dfa: Dfa) -> bool:
    """Whether every anchored run accepts at most once (so any match is the only one).

    When a pattern has at most one match end from each start position, the leftmost-first match
    Python's backtracking finds is that one, and a DFA reproduces ``finditer`` exactly.
    """
    after = dfa.next_state[dfa.accept != 0]
    if bool(dfa.accept_end[dfa.start].any()) or bool((dfa.accept[dfa.start] != 0).any()):
        return False  # matches the empty string
    seen = np.zeros(dfa.n_states, dtype=bool)
    stack = [int(s) for s in np.unique(after) if s != 0]
    for s in stack:
        seen[s] = True
    while stack:
        s = stack.pop()
        if dfa.accept_end[s] or (dfa.accept[s] != 0).any():
            return False
        for t in np.unique(dfa.next_state[s]):
            if t and not seen[t]:
                seen[t] = True
                stack.append(int(t))
    return True
