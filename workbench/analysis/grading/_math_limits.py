"""Tolerances and limits of the math answer comparison (documented defaults)."""

from __future__ import annotations

#: Default relative tolerance of numeric comparisons.
REL_TOL = 1e-4
#: Default absolute tolerance of numeric comparisons.
ABS_TOL = 1e-8
#: A number written with at least this many significant figures may be a rounding of the other.
MIN_SIG_FIGS = 3
#: Default time limit, in seconds, of one comparison.
TIME_LIMIT = 5.0
#: Answers longer than this many characters are not handed to sympy.
MAX_EXPR_CHARS = 4000
#: Answers with integer exponents above this are not given to sympy or math-verify: a huge power
#: is computed in C and cannot be interrupted by the time limit.
MAX_EXPONENT = 100
#: Longer answers are not read as numbers.
MAX_NUMBER_CHARS = 1000
#: Decimal literals with a larger power-of-ten exponent (``1e999999999``) are not numbers to us.
MAX_DECIMAL_EXPONENT = 1000
#: Number of random points at which two expressions are compared numerically.
SAMPLE_POINTS = 6
