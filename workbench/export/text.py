"""How a trajectory becomes training text: the prompt messages and the assistant's completion."""

from __future__ import annotations

from typing import Any

from workbench.errors import ValidationError
from workbench.think import END_THINKING, THINKING_PREFILL
from workbench.trajectory import Message, Trajectory

__all__ = [
    "STYLES",
    "THINK_STYLES",
    "assistant_message",
    "check_style",
    "completion_text",
    "prompt_messages",
    "prompt_text",
]

STYLES: tuple[str, ...] = ("conversational", "standard")
"""TRL's two dataset styles: lists of chat messages, or plain text."""

THINK_STYLES: tuple[str, ...] = ("tags", "reasoning_content", "drop")
"""Where the thinking goes.

* ``tags``: in the assistant's content as ``<think>\\n…\\n</think>\\n\\nanswer`` (works with every
  chat template; Qwen3's splits it back out for the last turn);
* ``reasoning_content``: in the assistant message's ``reasoning_content`` field, the answer in
  ``content`` (for templates that read it, such as Qwen3's; others drop it silently);
* ``drop``: the answer only.
"""


def check_style(style: str, think: str) -> None:
    """Raise :class:`ValidationError` for an unknown or impossible style combination."""
    if style not in STYLES:
        raise ValidationError("export.style", f"{style!r} is not one of {list(STYLES)}")
    if think not in THINK_STYLES:
        raise ValidationError("export.think", f"{think!r} is not one of {list(THINK_STYLES)}")
    if style == "standard" and think == "reasoning_content":
        raise ValidationError(
            "export.think",
            "reasoning_content needs chat messages: use --style conversational, or --think tags",
        )


def prompt_messages(trajectory: Trajectory) -> list[Message]:
    """Return the prompt as ``{"role", "content"}`` messages (other message fields are dropped)."""
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in trajectory.prompt]


def prompt_text(trajectory: Trajectory) -> str:
    """Return the prompt as plain text for the standard style.

    One message: its content; several (a system message, a one-shot example): the contents
    separated by blank lines, as workbench renders prompts for models without a chat template.
    """
    messages = trajectory.prompt
    if len(messages) == 1:
        return str(messages[0]["content"])
    return "\n\n".join(str(m["content"]) for m in messages)


def completion_text(trajectory: Trajectory, *, think: str = "tags") -> str:
    r"""Return what the model wrote, as training text.

    Parameters
    ----------
    trajectory
        The trajectory.
    think
        ``"tags"``: ``<think>\n{thinking}\n</think>\n\n{answer}`` when it has thinking (an
        unterminated thinking stays open: ``<think>\n{thinking}``), else the answer; ``"drop"``:
        the answer only. (``"reasoning_content"`` is for messages: see :func:`assistant_message`.)

    Examples
    --------
    >>> t = Trajectory(prompt="2+2?", raw="<think>2+2=4</think>4")
    >>> completion_text(t)
    '<think>\n2+2=4\n</think>\n\n4'
    >>> completion_text(t, think="drop")
    '4'
    """
    thinking, answer = trajectory.thinking, trajectory.answer
    if think == "drop" or not thinking:
        return answer
    if trajectory.think_format == "unterminated":
        return f"{THINKING_PREFILL}{thinking}"
    return f"{THINKING_PREFILL}{thinking}{END_THINKING}{answer}"


def assistant_message(trajectory: Trajectory, *, think: str = "tags") -> dict[str, Any]:
    """Return the completion as one assistant message in the chosen :data:`THINK_STYLES`."""
    if think == "reasoning_content":
        return {
            "role": "assistant",
            "content": trajectory.answer,
            "reasoning_content": trajectory.thinking,
        }
    return {"role": "assistant", "content": completion_text(trajectory, think=think)}
