"""``combination:*`` checks: repeat the prompt first, give two responses."""

from __future__ import annotations

from workbench.analysis.grading.ifeval._spec import Args, Checker, Param

__all__ = ["CHECKERS"]


def _repeat_prompt(text: str, args: Args) -> bool:
    request = args.text("prompt_to_repeat").strip().lower()
    return text.strip().lower().startswith(request)


def _two_responses(text: str, args: Args) -> bool:
    parts = text.split("******")
    kept = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part)
        elif 0 < index < len(parts) - 1:
            return False
    return len(kept) == 2 and kept[0].strip() != kept[1].strip()


CHECKERS = (
    Checker(
        "combination:repeat_prompt",
        _repeat_prompt,
        (Param("prompt_to_repeat", "text"),),
        "The response starts with `prompt_to_repeat`, ignoring case and outer whitespace (paper).",
        prompt_param="prompt_to_repeat",
    ),
    Checker(
        "combination:two_responses",
        _two_responses,
        (),
        "Exactly two different non-empty parts separated by '******' (paper).",
    ),
)
