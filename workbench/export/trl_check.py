"""Check exported rows with TRL's own data utilities and a real chat template."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workbench.errors import ValidationError

__all__ = ["check_trl"]


def check_trl(rows: Iterable[dict[str, Any]], tokenizer: Any) -> dict[str, Any]:
    """Run every row through ``trl.data_utils.is_conversational`` and ``maybe_apply_chat_template``.

    Parameters
    ----------
    rows
        Exported rows, or a ``datasets.Dataset``.
    tokenizer
        A tokenizer with a chat template (e.g. Qwen3's, or the default model's).

    Returns
    -------
    dict
        ``rows``, ``conversational`` (how many TRL sees as conversational) and ``example`` (the
        first row after the chat template, as TRL renders it).

    Raises
    ------
    ValidationError
        Naming the first row TRL rejects, and why; or when TRL is not installed.
    """
    try:
        from trl.data_utils import is_conversational, maybe_apply_chat_template
    except ImportError as exc:  # pragma: no cover - trl is an optional extra
        raise ValidationError("export.check", "TRL is not installed: pip install trl") from exc
    count = conversational = 0
    example: dict[str, Any] | None = None
    for i, row in enumerate(rows):
        row = dict(row)
        try:
            if is_conversational(row):
                conversational += 1
            rendered = maybe_apply_chat_template(row, tokenizer)
        except Exception as exc:
            raise ValidationError(f"export.rows[{i}]", f"TRL rejects the row: {exc}") from exc
        for key in ("prompt", "chosen", "rejected", "completion", "text"):
            if key in rendered and not isinstance(rendered[key], str):
                raise ValidationError(
                    f"export.rows[{i}].{key}", "TRL's chat template did not render it to text"
                )
        if example is None:
            example = rendered
        count += 1
    return {"rows": count, "conversational": conversational, "example": example}
