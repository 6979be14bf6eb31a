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
``thought_markers``
    ``<|begin_of_thought|>…<|end_of_thought|>`` then ``<|begin_of_solution|>…<|end_of_solution|>``
    (the Bespoke-Stratos and OpenThoughts system prompt). The thinking is inside the thought
    markers; the answer is inside the solution markers (or, without them, what follows the end of
    the thought). Recognised by :func:`parse_think` when the text has no ``</think>``.

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

__all__ = [
    "CLOSE_TAG",
    "END_THINKING",
    "OPEN_TAG",
    "THINKING_PREFILL",
    "THINK_FORMATS",
    "THOUGHT_MARKERS",
    "ThinkParse",
    "ThinkScanner",
    "compose_raw",
    "parse_think",
    "parse_thought_markers",
    "thinking_open",
    "trim_span",
]

THINK_FORMATS: tuple[str, ...] = (
    "tags",
    "close_only",
    "none",
    "empty",
    "unterminated",
    "field",
    "thought_markers",
)
"""Every value :func:`parse_think` can report as ``think_format``."""

THOUGHT_MARKERS: tuple[str, str, str, str] = (
    "<|begin_of_thought|>",
    "<|end_of_thought|>",
    "<|begin_of_solution|>",
    "<|end_of_solution|>",
)
"""The four markers of format ``thought_markers``: thought open/close, solution open/close."""

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
    if close_tag not in raw and (THOUGHT_MARKERS[0] in raw or THOUGHT_MARKERS[1] in raw):
        return parse_thought_markers(raw)

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


def parse_thought_markers(raw: str) -> ThinkParse:
    r"""Split a text written with the ``<|begin_of_thought|>`` markers (format ``thought_markers``).

    Parameters
    ----------
    raw
        An assistant reply in the Bespoke-Stratos / OpenThoughts layout.

    Returns
    -------
    ThinkParse
        Format ``thought_markers``; ``unterminated`` when the thought never ends (a cut-off reply:
        all of it is thinking), ``none`` when no thought marker occurs.

    Examples
    --------
    >>> p = parse_thought_markers(
    ...     "<|begin_of_thought|>\n2+2=4\n<|end_of_thought|>\n\n"
    ...     "<|begin_of_solution|>\n4\n<|end_of_solution|>"
    ... )
    >>> p.think_format, p.thinking, p.answer
    ('thought_markers', '2+2=4', '4')
    """
    t_open, t_close, s_open, s_close = THOUGHT_MARKERS
    n = len(raw)
    opened = raw.find(t_open)
    closed = raw.find(t_close, max(opened, 0))
    if opened < 0 and closed < 0:
        return ThinkParse(raw, "none", (0, 0), trim_span(raw, 0, n), 0)
    start = opened + len(t_open) if opened >= 0 else 0
    if closed < 0:
        return ThinkParse(raw, "unterminated", trim_span(raw, start, n), (n, n), 0)
    thinking = trim_span(raw, start, closed)
    after = closed + len(t_close)
    sol = raw.find(s_open, after)
    a_start = sol + len(s_open) if sol >= 0 else after
    a_end = raw.find(s_close, a_start)
    answer = trim_span(raw, a_start, a_end if a_end >= 0 else n)
    return ThinkParse(raw, "thought_markers", thinking, answer, 1)


# -- the reasoning format, defined once ---------------------------------------------------------
OPEN_TAG = DEFAULT_OPEN_TAG
"""The tag that opens the thinking."""

CLOSE_TAG = DEFAULT_CLOSE_TAG
"""The tag that closes the thinking."""

THINKING_PREFILL = OPEN_TAG + "\n"
"""What a thinking prefill or a composed ``field`` trace puts before the thinking."""

END_THINKING = "\n" + CLOSE_TAG + "\n\n"
"""What "end thinking now" (and a thinking budget) forces, and what a composed ``field`` trace
puts between the thinking and the answer."""


def thinking_open(text: str, *, untagged: bool = False) -> bool:
    """Return whether the thinking is still open at the end of ``text``.

    It is open when the last :data:`OPEN_TAG` comes after the last :data:`CLOSE_TAG`. Text with
    neither tag is open only when ``untagged`` is true (s1-style budget forcing counts untagged text
    as thinking; a chat prompt without tags is not thinking).

    Examples
    --------
    >>> thinking_open("<think>\\nLet me see")
    True
    >>> thinking_open("<think>a</think>b")
    False
    >>> thinking_open("plain", untagged=True)
    True
    """
    opened, closed = text.rfind(OPEN_TAG), text.rfind(CLOSE_TAG)
    if opened < 0 and closed < 0:
        return untagged
    return opened > closed


class ThinkScanner:
    """Thinking and answer bounds of a text that grows, found incrementally (live streaming).

    Feed it the text piece by piece; it keeps only a few characters between calls, so a feed costs
    the same at 30k tokens as at 1k. Its bounds are the live approximation of :func:`parse_think`:
    the thinking starts after a leading :data:`OPEN_TAG` (or at the start when the text does not
    open with one) and ends at the first :data:`CLOSE_TAG`; :func:`parse_think` of the finished
    text is authoritative (it ends the thinking at the *last* closing tag).

    Examples
    --------
    >>> scan = ThinkScanner()
    >>> [scan.feed(piece) for piece in ("<thi", "nk>ab</th", "ink>ok")]
    [False, True, True]
    >>> (scan.think_start, scan.think_end, scan.answer_start)
    (7, 9, 17)
    """

    def __init__(self, open_tag: str = OPEN_TAG, close_tag: str = CLOSE_TAG) -> None:
        self.open_tag, self.close_tag = open_tag, close_tag
        self.length = 0
        self.think_start: int | None = None
        self.think_end: int | None = None
        self.answer_start: int | None = None
        self._head = ""  # the text while the start of the thinking is undecided
        self._tail = ""  # the last characters, for a closing tag split across pieces

    def feed(self, text: str) -> bool:
        """Take the next piece of text; return whether a bound changed."""
        before = (self.think_start, self.think_end)
        start = self.length
        self.length += len(text)
        if self.think_start is None:
            self._head += text
            stripped = self._head.lstrip()
            lead = len(self._head) - len(stripped)
            if stripped.startswith(self.open_tag):
                self.think_start = lead + len(self.open_tag)
            elif stripped and not self.open_tag.startswith(stripped[: len(self.open_tag)]):
                self.think_start = 0  # no opening tag: thinking from the start
            else:
                return False
            text, start = self._head[self.think_start :], self.think_start
            self._head = ""
        if self.think_end is None:
            buf, buf_start = self._tail + text, start - len(self._tail)
            at = buf.find(self.close_tag)
            if at >= 0:
                self.think_end = buf_start + at
                self.answer_start = self.think_end + len(self.close_tag)
                self._tail = ""
            else:
                keep = len(self.close_tag) - 1
                self._tail = buf[-keep:] if keep else ""
        return (self.think_start, self.think_end) != before
