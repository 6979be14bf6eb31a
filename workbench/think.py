r"""Split a model's raw output into its thinking and its answer.

Reasoning models mark their thinking in several ways, and every one of them occurs in real traces:

``tags``
    ``<think>…</think>answer`` (DeepSeek-R1, Qwen3, distills).
``close_only``
    ``…</think>answer`` with no opening tag: the chat template pre-filled ``<think>`` (QwQ-32B).
``none``
    No tags at all (R1-Zero without a template, non-reasoning models): all of it is the answer.
``empty``
    A block with nothing but whitespace in it, ``<think>\n\n</think>`` (Qwen3 with
    ``enable_thinking=False``).
``unterminated``
    ``<think>…`` that never closes (a generation cut off by its token budget): all of it is
    thinking and the answer is empty.
``field``
    The server returned the thinking in a separate field (``reasoning`` / ``reasoning_content``);
    the raw text is composed as ``<think>\n{thinking}\n</think>\n\n{answer}`` so that offsets
    stay meaningful.

Rules (ours, documented so they can be relied on):

* Thinking starts after the first opening tag that comes before the first closing tag (or at the
  start of the text for ``close_only``) and ends at the **last** closing tag; the answer is what
  follows the last closing tag. Several blocks therefore become one thinking span that contains the
  inner tags, and ``n_blocks`` says how many closing tags there were. This matches Qwen3's chat
  template, which keeps what follows the last ``</think>`` as the answer.
* Both spans are trimmed of surrounding whitespace, and always slice the raw text:
  ``raw[slice(*thinking_span)] == thinking``.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench._validate import Span

__all__ = ["THINK_FORMATS", "ThinkParse", "compose_raw", "parse_think", "trim_span"]

THINK_FORMATS: tuple[str, ...] = ("tags", "close_only", "none", "empty", "unterminated", "field")
"""Every value :func:`parse_think` can report as ``think_format``."""

DEFAULT_OPEN_TAG = "<think>"
DEFAULT_CLOSE_TAG = "</think>"


@dataclass(frozen=True, slots=True)
class ThinkParse:
    """The result of :func:`parse_think`.

    Attributes
    ----------
    raw
        The raw text the spans index into (composed for the ``field`` format).
    think_format
        One of :data:`THINK_FORMATS`.
    thinking_span, answer_span
        ``(start, end)`` character offsets into ``raw``.
    n_blocks
        Number of closing tags found (0 when there is none).
    """

    raw: str
    think_format: str
    thinking_span: Span
    answer_span: Span
    n_blocks: int

    @property
    def thinking(self) -> str:
        """The thinking text (``""`` when there is none)."""
        return self.raw[self.thinking_span[0] : self.thinking_span[1]]

    @property
    def answer(self) -> str:
        """The answer text (``""`` when there is none)."""
        return self.raw[self.answer_span[0] : self.answer_span[1]]


def trim_span(text: str, start: int, end: int) -> Span:
    """Shrink ``[start, end)`` of ``text`` past leading and trailing whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end)


def compose_raw(
    thinking: str,
    answer: str,
    *,
    open_tag: str = DEFAULT_OPEN_TAG,
    close_tag: str = DEFAULT_CLOSE_TAG,
) -> ThinkParse:
    """Build the raw text for a thinking/answer pair given separately (format ``field``).

    Parameters
    ----------
    thinking
        The reasoning text (e.g. an OpenAI-compatible ``reasoning_content``).
    answer
        The final content.
    open_tag, close_tag
        The tags written around the thinking.

    Returns
    -------
    ThinkParse
        With ``think_format="field"`` and spans that slice the composed text back to the trimmed
        ``thinking`` and ``answer``.
    """
    thinking = thinking.strip()
    answer = answer.strip()
    head = f"{open_tag}\n"
    raw = f"{head}{thinking}\n{close_tag}\n\n{answer}"
    t_start = len(head)
    a_start = len(raw) - len(answer)
    return ThinkParse(raw, "field", (t_start, t_start + len(thinking)), (a_start, len(raw)), 1)


def parse_think(
    raw: str,
    *,
    reasoning: str | None = None,
    open_tag: str = DEFAULT_OPEN_TAG,
    close_tag: str = DEFAULT_CLOSE_TAG,
) -> ThinkParse:
    r"""Find the thinking and the answer in a model's output.

    Parameters
    ----------
    raw
        The model's output text (for ``field``: the content without the reasoning).
    reasoning
        A separately delivered reasoning text. When it has any non-whitespace character the result
        has format ``field`` and ``raw`` is composed with :func:`compose_raw`; otherwise ``raw`` is
        parsed as usual.
    open_tag, close_tag
        The thinking delimiters (``<think>``/``</think>`` by default).

    Returns
    -------
    ThinkParse
        The format found, the spans and the number of blocks.

    Examples
    --------
    >>> p = parse_think("<think>\n2+2 is 4.\n</think>\n\nThe answer is 4.")
    >>> p.think_format, p.thinking, p.answer
    ('tags', '2+2 is 4.', 'The answer is 4.')
    >>> parse_think("Let me see... 4.</think>4").think_format
    'close_only'
    """
    if not isinstance(raw, str):
        raise TypeError(f"raw must be a string, got {type(raw).__name__}")
    if reasoning is not None and reasoning.strip():
        return compose_raw(reasoning, raw, open_tag=open_tag, close_tag=close_tag)

    n = len(raw)
    first_close = raw.find(close_tag)
    first_open = raw.find(open_tag)
    if first_close < 0:
        if first_open < 0:
            return ThinkParse(raw, "none", (0, 0), trim_span(raw, 0, n), 0)
        thinking = trim_span(raw, first_open + len(open_tag), n)
        return ThinkParse(raw, "unterminated", thinking, (n, n), 0)

    opened = 0 <= first_open < first_close
    think_start = first_open + len(open_tag) if opened else 0
    last_close = raw.rfind(close_tag)
    thinking = trim_span(raw, think_start, last_close)
    answer = trim_span(raw, last_close + len(close_tag), n)
    fmt = "empty" if thinking[0] == thinking[1] else ("tags" if opened else "close_only")
    return ThinkParse(raw, fmt, thinking, answer, raw.count(close_tag))
