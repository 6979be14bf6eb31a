"""Hypothesis strategies of hostile values, shared by the robustness tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\ud83d"])
"""Lone surrogates: what ``json.loads('"\\\\ud800"')`` or ``surrogateescape`` decoding yields."""

HOSTILE_FLOATS = st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324])
HUGE_INTS = st.sampled_from([2**63, -(2**63) - 1, 10**40, 10**400])
TEXT = st.text(max_size=20)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_FLOATS,
    HUGE_INTS,
    TEXT,
    SURROGATES,
)


def nested(depth: int) -> Any:
    """A value nested ``depth`` levels deep (lists and objects alternating)."""
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
) | st.integers(min_value=60, max_value=400).map(nested)
"""JSON-like values with non-finite floats, huge integers, lone surrogates and deep nesting."""
