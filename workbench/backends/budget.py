r"""Budget forcing as one pure policy, shared by every local engine.

Both local engines (transformers, in-process vLLM) ask the same two questions of the same state,
so ``thinking_budget=N`` means the same tokens everywhere:

- :func:`replace_early_close`: the model is about to close its thinking; should the closing tag be
  replaced with ``continue_text`` (s1's "Wait")?
- :func:`end_thinking_now`: should ``end_text`` be forced now because the budget is spent?

The state is counted one way (:class:`BudgetState`): **thinking tokens are the tokens the model
sampled while its thinking was open**; forced text (the prefill, ``continue_text``, injected text)
is not counted. The transformers engine applies the policy token by token; vLLM, which cannot be
interrupted mid-request, plans phases with :func:`plan_phase`, which asks the same questions
about where the next phase must stop.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.backends.base import BudgetForcing

__all__ = ["BudgetState", "end_thinking_now", "plan_phase", "replace_early_close"]


@dataclass(slots=True)
class BudgetState:
    """What the policy reads of one sample.

    Attributes
    ----------
    thinking_tokens
        Tokens sampled while the thinking was open (forced text not counted).
    continues
        How many times ``continue_text`` replaced an early close.
    spent
        Whether ``end_text`` was forced already (it is forced once).
    """

    thinking_tokens: int = 0
    continues: int = 0
    spent: bool = False


def replace_early_close(budget: BudgetForcing | None, state: BudgetState) -> str | None:
    """Return the text that replaces an early closing tag, or ``None`` to let it close.

    The close is early while fewer than ``min_thinking_tokens`` were sampled, and it is replaced
    at most ``max_continues`` times. The caller counts the replacement in ``state.continues``.

    Examples
    --------
    >>> b = BudgetForcing(min_thinking_tokens=10)
    >>> replace_early_close(b, BudgetState(thinking_tokens=3))
    'Wait'
    >>> replace_early_close(b, BudgetState(thinking_tokens=3, continues=1)) is None
    True
    >>> replace_early_close(b, BudgetState(thinking_tokens=10)) is None
    True
    """
    if budget is None or not budget.min_thinking_tokens:
        return None
    if (
        state.thinking_tokens < budget.min_thinking_tokens
        and state.continues < budget.max_continues
    ):
        return budget.continue_text
    return None


def end_thinking_now(budget: BudgetForcing | None, state: BudgetState) -> str | None:
    """Return ``end_text`` when the thinking budget is spent (once), else ``None``.

    Examples
    --------
    >>> b = BudgetForcing(max_thinking_tokens=4)
    >>> end_thinking_now(b, BudgetState(thinking_tokens=3)) is None
    True
    >>> end_thinking_now(b, BudgetState(thinking_tokens=4)) == b.end_text
    True
    >>> end_thinking_now(b, BudgetState(thinking_tokens=9, spent=True)) is None
    True
    """
    if budget is None or budget.max_thinking_tokens is None or state.spent:
        return None
    if state.thinking_tokens >= budget.max_thinking_tokens:
        return budget.end_text
    return None


def plan_phase(
    *,
    generated: int,
    max_new_tokens: int,
    thinking: bool,
    continues: int,
    budget: BudgetForcing | None,
) -> tuple[str, int, bool]:
    """Decide the next generation phase of one sample, for engines that generate in phases.

    Parameters
    ----------
    generated
        Tokens sampled so far for the sample (forced text is not counted). While the thinking is
        open this is the sample's thinking-token count (thinking comes first).
    max_new_tokens
        The sample's budget of sampled tokens.
    thinking
        Whether the sample's thinking is still open.
    continues
        How many times ``continue_text`` was forced already.
    budget
        The request's budget forcing, if any.

    Returns
    -------
    tuple
        ``(forced_text, max_tokens, stop_on_close)``: text to force before the phase (``""``:
        none; otherwise ``budget.end_text``, which ends the thinking), how many tokens the phase
        may sample (``0``: the budget is spent, finish with ``"length"``) and whether the phase
        stops on the closing-thinking token (so that :func:`replace_early_close` can replace it).

    Examples
    --------
    >>> b = BudgetForcing(max_thinking_tokens=8)
    >>> plan_phase(generated=0, max_new_tokens=100, thinking=True, continues=0, budget=b)
    ('', 8, False)
    >>> plan_phase(generated=8, max_new_tokens=100, thinking=True, continues=0, budget=b)[0] == b.end_text
    True
    """
    remaining = max_new_tokens - generated
    if remaining <= 0:
        return "", 0, False
    if budget is None or not thinking:
        return "", remaining, False
    state = BudgetState(thinking_tokens=generated, continues=continues)
    lo, hi = budget.min_thinking_tokens, budget.max_thinking_tokens
    if lo is not None and replace_early_close(budget, state) is not None:
        return "", min(remaining, lo - generated), True
    ending = end_thinking_now(budget, state)
    if ending is not None:
        return ending, remaining, False
    if hi is None:
        return "", remaining, False
    return "", min(remaining, hi - generated), False
