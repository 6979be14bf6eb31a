"""``language:*`` checks, and the language detector the ``change_case`` checks share.

Language detection uses ``langdetect`` (a runtime dependency, imported on first use) with
``DetectorFactory.seed = 0``, so a verdict is the same on every run. As in the official code, a
text that ``langdetect`` cannot classify (no letters, e.g. only digits) counts as followed.
"""

from __future__ import annotations

from typing import Any

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param

__all__ = ["CHECKERS", "detect_language"]

_UNDETECTABLE = "?"
_langdetect: Any = None


def _module() -> Any:
    global _langdetect
    if _langdetect is None:
        try:
            import langdetect
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "IFEval language checks need langdetect: pip install langdetect"
            ) from exc
        langdetect.DetectorFactory.seed = 0
        _langdetect = langdetect
    return _langdetect


def detect_language(text: str) -> str | None:
    """ISO 639-1 code ``langdetect`` gives ``text`` (seeded), or None when it cannot tell."""
    module = _module()
    try:
        return str(module.detect(text))
    except module.LangDetectException:
        return None


def _response_language(text: str, args: Args) -> bool:
    found = detect_language(text)
    return found is None or found == args.text("language")


CHECKERS = (
    Checker(
        "language:response_language",
        _response_language,
        (Param("language", "text"),),
        "langdetect's language of the whole response is `language` (paper).",
    ),
)
