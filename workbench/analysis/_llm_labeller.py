"""The LLM labeller: a chat model labels a trace's segments, through any workbench backend.

Segments are sent in batches of consecutive segments (``batch_size`` per request) with the
taxonomy's prompt template (:mod:`workbench.analysis._llm_prompts`); the answer is parsed as a
JSON object ``{"<number>": "<label>"}`` (or, failing that, ``N: label`` lines), labels matched
to the taxonomy leniently (case, ``_``/``-``/space, a unique prefix). Numbers still missing are
asked for again, up to ``retries`` times, with only those parts; a segment that still has no
label gets the rule labeller's label and says so (``label_meta["fallback"] = "rule"``).

Every labelled segment records, in :attr:`~workbench.segment.Segment.label_meta`, the model, the
backend, the template and its source, the exact prompt of the request that labelled it, its
sha256, the attempt, and the raw answer (truncated).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from workbench.analysis._llm_prompts import PromptTemplate, prompt_template
from workbench.segment import Segment

__all__ = ["DEFAULT_BATCH_SIZE", "LLMLabeller", "match_label", "parse_labels"]

DEFAULT_BATCH_SIZE = 8
"""Segments per request."""

RAW_ANSWER_CHARS = 2000
"""Characters of the model's answer kept in ``label_meta``."""

_LINE = re.compile(r"^\s*[\[(]?(\d+)[\])]?\s*[:.)=\-]+\s*\"?([A-Za-z][\w \-]*)", re.MULTILINE)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", "-", text.strip().strip("\"'.`*").lower())


def match_label(text: str, labels: Sequence[str]) -> str | None:
    """Return the taxonomy label that ``text`` names (exact after normalising, else a prefix)."""
    want = _norm(text)
    if not want:
        return None
    by_norm = {_norm(c): c for c in labels}
    if want in by_norm:
        return by_norm[want]
    # "4. uncertainty-estimation" or "deduction step"
    want = re.sub(r"^\d+[.)]?-?", "", want)
    if want in by_norm:
        return by_norm[want]
    hits = [c for n, c in by_norm.items() if n.startswith(want) or want.startswith(n)]
    return hits[0] if len(hits) == 1 else None


def parse_labels(answer: str, numbers: Sequence[int], labels: Sequence[str]) -> dict[int, str]:
    """Labels of the numbered parts found in a model's ``answer``.

    A JSON object (``{"1": "deduction"}``), a JSON list of objects (``[{"id": 1, "label": …}]``)
    or of labels in order, or ``N: label`` lines are accepted; numbers not in ``numbers`` and
    names not in ``labels`` are ignored.
    """
    wanted = set(numbers)
    found: dict[int, str] = {}

    def put(key: Any, value: Any) -> None:
        try:
            n = int(str(key).strip("[]() "))
        except ValueError:
            return
        label = match_label(str(value), labels) if isinstance(value, str) else None
        if n in wanted and label is not None and n not in found:
            found[n] = label

    for start, end in (("{", "}"), ("[", "]")):
        a, b = answer.find(start), answer.rfind(end)
        if a < 0 or b <= a:
            continue
        try:
            data = json.loads(answer[a : b + 1])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            for k, v in data.items():
                put(k, v)
        elif isinstance(data, list):
            for i, item in enumerate(data):
                if isinstance(item, dict):
                    put(item.get("id", item.get("part")), item.get("label"))
                elif i < len(numbers):
                    put(numbers[i], item)
        if found:
            return found
    for m in _LINE.finditer(answer):
        put(m.group(1), m.group(2))
    return found


class LLMLabeller:
    """Label segments with a chat model (``label_source="model"``, confidence unknown).

    Parameters
    ----------
    backend
        A workbench backend (``create_backend("openai", model, base_url=...)``,
        ``TransformersBackend(...)``), or a :class:`~workbench.Session` (its loaded backend is
        used; label while no run is in progress).
    taxonomy
        The label set (its template from :data:`~workbench.analysis._llm_prompts.PROMPT_TEMPLATES`,
        or a generic one).
    template
        A :class:`~workbench.analysis._llm_prompts.PromptTemplate` to use instead.
    batch_size
        Segments per request.
    retries
        Follow-up requests for the parts an answer left out or mislabelled.
    max_new_tokens, temperature
        Sampling of each request (greedy by default).
    context_chars
        Characters of the text before a batch shown as context (not labelled).
    """

    def __init__(
        self,
        backend: Any,
        *,
        taxonomy: str = "venhoff",
        template: PromptTemplate | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retries: int = 2,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        context_chars: int = 400,
    ) -> None:
        if batch_size < 1 or retries < 0:
            raise ValueError("batch_size must be >= 1 and retries >= 0")
        if not hasattr(backend, "stream") and hasattr(backend, "backend"):
            backend = backend.backend  # a Session: label with its loaded model (when idle)
        self.backend = backend
        self.template = template or prompt_template(taxonomy)
        self.labels = [name for name, _ in self.template.labels]
        self.batch_size = batch_size
        self.retries = retries
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.context_chars = context_chars

    @property
    def model(self) -> str:
        """The model name the backend reports."""
        name = getattr(self.backend, "model_name", None)
        return str(name or type(self.backend).__name__)

    def ask(self, prompt: str) -> str:
        """Send one user message and return the model's answer text (errors raise)."""
        import threading

        from workbench.backends.base import FinishEvent, GenerationRequest, SamplingParams
        from workbench.errors import WorkbenchError

        request = GenerationRequest(
            messages=[{"role": "user", "content": prompt}],
            sampling=SamplingParams(
                n=1, temperature=self.temperature, max_new_tokens=self.max_new_tokens
            ),
            enable_thinking=False,
        )
        parts: list[str] = []
        for event in self.backend.stream(request, cancel=threading.Event()):
            if isinstance(event, FinishEvent):
                if event.finish_reason == "error":
                    raise WorkbenchError(f"the labelling model failed: {event.error}")
            elif event.sample == 0:
                parts.append(event.text)
        return "".join(parts)

    def label_segments(self, segments: Sequence[Segment]) -> list[Segment]:
        """Return copies of ``segments`` labelled by the model, with ``label_meta`` recorded.

        Segments are batched per trajectory in the order given; give a trace's segments in
        order so each batch's context is the text before it.
        """
        from workbench.analysis.patterns import get_taxonomy, rule_label

        out = list(segments)
        by_trace: dict[str, list[int]] = {}
        for i, s in enumerate(segments):
            by_trace.setdefault(s.trajectory_id, []).append(i)
        try:
            rules: Any = get_taxonomy(self.template.taxonomy)
        except Exception:  # a custom template's taxonomy may not be a preset
            rules = None
        base = {
            "labeller": "llm",
            "model": self.model,
            "backend": getattr(self.backend, "name", "") or type(self.backend).__name__,
            "template": self.template.name,
            "template_source": self.template.source,
        }
        for members in by_trace.values():
            for lo in range(0, len(members), self.batch_size):
                batch = members[lo : lo + self.batch_size]
                before = " ".join(segments[i].text for i in members[:lo])[-self.context_chars :]
                numbered = {n + 1: i for n, i in enumerate(batch)}
                for n, (label, meta) in self._label_batch(numbered, segments, before).items():
                    i = numbered[n]
                    if label is None:
                        fallback = (
                            rule_label(segments[i].text, taxonomy=rules).label
                            if rules is not None
                            else self.labels[0]
                        )
                        label, meta = fallback, {**meta, "fallback": "rule"}
                    out[i] = replace(
                        segments[i],
                        labels=[label],
                        label_source="model",
                        confidence=None,
                        label_meta={**base, **meta},
                    )
        return out

    def _label_batch(
        self, numbered: dict[int, int], segments: Sequence[Segment], context: str
    ) -> dict[int, tuple[str | None, dict[str, Any]]]:
        """Labels (or ``None``) and per-label records of one batch, asking again for gaps."""
        result: dict[int, tuple[str | None, dict[str, Any]]] = {}
        missing = list(numbered)
        last: dict[str, Any] = {}
        for attempt in range(1 + self.retries):
            prompt = self.template.render(
                [(n, segments[numbered[n]].text) for n in missing], context=context
            )
            record = {
                "prompt": prompt,
                "prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                "attempt": attempt + 1,
            }
            try:
                answer = self.ask(prompt)
                record["raw_answer"] = answer[:RAW_ANSWER_CHARS]
            except Exception as exc:  # the error is recorded on the labels
                answer = ""
                record["error"] = str(exc)[:500]
            last = record
            for n, label in parse_labels(answer, missing, self.labels).items():
                result[n] = (label, record)
            missing = [n for n in missing if n not in result]
            if not missing:
                break
        for n in missing:
            result[n] = (None, last)
        return result
