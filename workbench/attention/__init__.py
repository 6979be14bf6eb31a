"""Constraint attention mass in memory ``O(T·|C|)``, for any model using transformers' attention interface.

See :mod:`workbench.attention.mass` for the method and :mod:`workbench.attention.kernels` for the
tensor kernels. This subpackage needs the ``transformers`` extra (torch and transformers).
"""

from workbench.attention.mass import (
    ATTENTION_NAME,
    ConstraintMassCapture,
    capture_constraint_mass,
    constraint_mass,
    constraint_mass_attention,
    normalize_positions,
)

__all__ = [
    "ATTENTION_NAME",
    "ConstraintMassCapture",
    "capture_constraint_mass",
    "constraint_mass",
    "constraint_mass_attention",
    "normalize_positions",
]
