"""Cue rules that locate an instruction's constraint wording in a prompt.

Each IFEval instruction id has cue rules (:data:`CUES`): case-insensitive regular expressions for
how prompts usually phrase that constraint ("in all lowercase", "at least 300 words", "do not use
any commas"). Placeholders in braces are filled from the instruction's kwargs: a number also
matches its English word ("3" and "three", "2" and "twice"), a word or phrase matches literally.
A cue built from a kwarg weighs :data:`KWARG_WEIGHT`, the others 1.

:data:`CONSTRAINT_WORDING` is the generic detector used when a prompt has no metadata: a clause
is a constraint when it has a *requirement* cue ("must", "at least", "do not", …) and a *format*
cue ("words", "lowercase", "commas", "JSON", …).

All rules are ours (the paper that defines constraint attention, arXiv 2505.11423, does not publish
how it chose the constraint tokens); edit or extend them by passing your own mapping.
"""

from __future__ import annotations

__all__ = ["CONSTRAINT_WORDING", "CUES", "KWARG_WEIGHT", "LANGUAGE_NAMES", "NUMBER_WORDS"]

KWARG_WEIGHT = 2.0
"""Weight of a cue built from a kwarg value (a number, keyword or phrase of the instruction)."""

NUMBER_WORDS: dict[int, tuple[str, ...]] = {
    1: ("one", "once", "single"),
    2: ("two", "twice", "double"),
    3: ("three", "thrice"),
    4: ("four",),
    5: ("five",),
    6: ("six",),
    7: ("seven",),
    8: ("eight",),
    9: ("nine",),
    10: ("ten",),
    11: ("eleven",),
    12: ("twelve",),
    15: ("fifteen",),
    20: ("twenty",),
}
"""English words that also match a number placeholder."""

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian|Farsi",
    "fi": "Finnish",
    "fr": "French",
    "gu": "Gujarati",
    "hi": "Hindi",
    "it": "Italian",
    "ja": "Japanese",
    "kn": "Kannada",
    "ko": "Korean",
    "mr": "Marathi",
    "ne": "Nepali",
    "pa": "Punjabi",
    "pt": "Portuguese",
    "ru": "Russian",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
"""Language names for IFEval's ``language`` kwarg (ISO 639-1 codes); alternatives with ``|``."""

_REL = r"at least|at most|less than|more than|fewer than|no more than|no less than|exactly|minimum|maximum"

CUES: dict[str, tuple[str, ...]] = {
    "change_case:capital_word_frequency": (
        r"all capital letters|capital(?:ized)? words|all caps|upper ?case",
        r"{capital_frequency}",
        _REL,
    ),
    "change_case:english_capital": (
        r"all capital letters|capital letters|all caps|upper ?case|no lower ?case|capitali[sz]e",
    ),
    "change_case:english_lowercase": (
        r"lower[- ]?case",
        r"no capital|without (?:using )?(?:any )?capital|not (?:use|contain|have) any capital",
    ),
    "combination:repeat_prompt": (
        r"repeat (?:the|this|my) (?:exact )?(?:request|question|prompt|sentence)",
        r"word for word",
    ),
    "combination:two_responses": (
        r"two (?:different )?responses",
        r"separated? (?:the|your|them|those|these)",
        r"\*{6}|asterisks?",
    ),
    "detectable_content:number_placeholders": (
        r"placeholders?",
        r"square brackets",
        r"{num_placeholders}",
    ),
    "detectable_content:postscript": (r"postscript|p\.\s?s\.", r"{postscript_marker}"),
    "detectable_format:constrained_response": (
        r"choose from|one of the following",
        r"exact phrase|my answer is",
    ),
    "detectable_format:json_format": (r"\bjson\b",),
    "detectable_format:multiple_sections": (
        r"\bsections?\b",
        r"{section_spliter}",
        r"{num_sections}",
    ),
    "detectable_format:number_bullet_lists": (
        r"bullet(?: points?)?|bullets",
        r"markdown",
        r"{num_bullets}",
    ),
    "detectable_format:number_highlighted_sections": (
        r"highlight(?:ed)?",
        r"markdown",
        r"{num_highlights}",
    ),
    "detectable_format:title": (r"\btitle\b", r"angular brackets|<<"),
    "keywords:existence": (r"keywords?|include the words?", r"{keywords}"),
    "keywords:forbidden_words": (
        r"should not (?:appear|be used|include|contain)|do not (?:use|include|say|mention)|"
        r"avoid|without (?:using )?the words?|not allowed|don't use|must not",
        r"{forbidden_words}",
    ),
    "keywords:frequency": (r"{keyword}", r"times|twice|" + _REL, r"{frequency}"),
    "keywords:letter_frequency": (r"\bletters?\b", r"{letter}", r"{let_frequency}"),
    "language:response_language": (r"\blanguage\b", r"{language}"),
    "length_constraints:nth_paragraph_first_word": (
        r"first word|start with the word|begin with the word",
        r"{first_word}",
        r"paragraphs?",
    ),
    "length_constraints:number_paragraphs": (
        r"paragraphs?",
        r"\*\*\*|divider",
        r"{num_paragraphs}",
    ),
    "length_constraints:number_sentences": (r"sentences?", r"{num_sentences}", _REL),
    "length_constraints:number_words": (r"\bwords?\b", r"{num_words}", _REL + r"|\+"),
    "punctuation:no_comma": (r"\bcommas?\b",),
    "startend:end_checker": (
        r"end (?:your|the) (?:whole |entire )?(?:response|answer|email|poem|letter)|finish (?:your|the)|"
        r"end it with|ends? with",
        r"{end_phrase}",
    ),
    "startend:quotation": (r"quotations? marks|double quotes|quotes",),
}
"""Cue rules per IFEval instruction id (see the module docstring)."""

CONSTRAINT_WORDING: tuple[str, str] = (
    r"\b(?:must|should|make sure|ensure|do not|don't|without|at least|at most|exactly|no more than|"
    r"fewer than|less than|only|in all|wrap|end (?:your|it)|start (?:your|with)|include|"
    r"separate|highlight|use|answer with|respond|format|no other)\b",
    r"\b(?:words?|sentences?|paragraphs?|bullet(?: points?)?|lower ?case|capital(?: letters)?|"
    r"upper ?case|commas?|json|title|quotation marks|placeholders?|sections?|highlighted|"
    r"language|postscript|p\.s\.|keywords?|letters?|times|markdown|responses?)\b",
)
"""Generic constraint wording: ``(requirement cue, format cue)``; a clause needs both."""
