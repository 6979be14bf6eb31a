"""IFEval checkers: a passing and a failing case per instruction, loose mode, errors, splitters."""

from __future__ import annotations

from typing import Any

import pytest

from workbench.analysis.grading.ifeval import (
    INSTRUCTIONS,
    check_instruction,
    count_sentences,
    count_words,
    describe,
    grade_ifeval,
    loose_variants,
    split_sentences,
    word_tokens,
)
from workbench.errors import ValidationError

_NEEDS_LANGDETECT = {
    "change_case:english_capital",
    "change_case:english_lowercase",
    "language:response_language",
}

EN = "This is a short answer written in plain English about the weather today"

# (instruction_id, kwargs, passing text, failing text)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 3, "capital_relation": "at least"},
        "I'M SO HAPPY today.",  # I, 'M, SO, HAPPY
        "I am So happy today, NASA.",  # I, NASA
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "Only NASA is loud here.",
        "I think NASA rocks.",
    ),
    ("change_case:english_capital", {}, EN.upper(), EN),
    ("change_case:english_lowercase", {}, EN.lower(), EN),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem about cats."},
        "  write a poem about CATS. Cats purr softly.",
        "Here is the poem: Write a poem about cats.",
    ),
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", "A\n******\nA"),
    ("combination:two_responses", {}, "******\nOne.\n******\nTwo.", "One.\n******\n******\nTwo."),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "Dear [name], meet me at [address].",
        "Dear [name], see you.",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.S."},
        "Thanks!\n\np. s. see you soon",
        "Thanks!\nPS see you soon",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.P.S"},
        "Bye.\nP.P.S. One more thing.",
        "Bye.\nP.S. One thing.",
    ),
    (
        "detectable_format:constrained_response",
        {},
        "After thinking: My answer is maybe.",
        "My answer is: yes.",
    ),
    (
        "detectable_format:json_format",
        {},
        '```json\n{"a": [1, 2]}\n```',
        'Here is JSON: {"a": 1}',
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nIntro.\nSection 2\nBody.",
        "Section 1\nIntro.\nsection 2\nBody.",
    ),
    (
        "detectable_format:number_bullet_lists",
        {"num_bullets": 2},
        "Points:\n* one\n- two",
        "Points:\n* one\n* two\n* three",
    ),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*first* and *second* highlight",
        "only *one* highlight and ** an empty one",
    ),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 1},
        "a **bold** span",
        "an empty ** ** span",
    ),
    ("detectable_format:title", {}, "<<Ode to Joy>>\nText.", "<< >> and <<broken\ntitle>>"),
    (
        "keywords:existence",
        {"keywords": ["cat", "dog"]},
        "Cats and DOGS.",
        "Cats only.",
    ),
    (
        "keywords:forbidden_words",
        {"forbidden_words": ["cat"]},
        "I like cats and catalogs.",  # whole words only
        "The Cat sat.",
    ),
    (
        "keywords:frequency",
        {"keyword": "run", "frequency": 3, "relation": "at least"},
        "Run, running, runner.",  # substrings count, as officially
        "Run and run.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 2, "let_relation": "less than"},
        "Zebra.",
        "Zig zag.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "#", "let_frequency": 2, "let_relation": "at least"},
        "#one #two",
        "#one",
    ),
    (
        "language:response_language",
        {"language": "fr"},
        "Bonjour, je suis très heureux de vous rencontrer aujourd'hui dans cette belle ville.",
        EN,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Finally"},
        'Intro here.\n\n"finally, the end.',
        "Intro here.\n\nAt last.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "intro"},
        "Intro here.\n\nMore.",
        "Intro here.\n\nMore.\n\nEven more.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2},
        "One.\n***\nTwo.\n***",
        "One.\n***\n***\nTwo.",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "less than"},
        "Mr. Smith paid $3.50 for it. Was it worth it?",
        "One. Two! Three?",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "at least"},
        "It's a well-known fact.",  # It, s, a, well, known, fact
        "Too short here.",
    ),
    ("punctuation:no_comma", {}, "No commas at all.", "Yes, one comma."),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        'Done. "any other questions?"  ',
        "Any other questions? Thanks.",
    ),
    ("startend:quotation", {}, ' "Quoted answer." ', '"Unclosed answer.'),
]


@pytest.mark.parametrize(("iid", "kwargs", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pass_and_fail_case_per_instruction(
    iid: str, kwargs: dict[str, Any], good: str, bad: str
) -> None:
    if iid in _NEEDS_LANGDETECT:
        pytest.importorskip("langdetect")
    assert check_instruction(iid, good, kwargs=kwargs) is True
    assert check_instruction(iid, bad, kwargs=kwargs) is False


def test_every_instruction_has_cases_and_docs() -> None:
    assert len(INSTRUCTIONS) == 25
    assert {c[0] for c in CASES} == set(INSTRUCTIONS)
    rows = describe()
    assert [r["instruction_id"] for r in rows] == list(INSTRUCTIONS)
    assert all(r["summary"] and "\n" not in r["summary"] for r in rows)
    differs = {r["instruction_id"] for r in rows if r["differs"]}
    assert "length_constraints:number_sentences" in differs


def test_blank_text_follows_nothing() -> None:
    assert check_instruction("punctuation:no_comma", "   \n") is False
    assert check_instruction("punctuation:no_comma", "   \n", loose=True) is False


def test_language_detection_edge_cases() -> None:
    pytest.importorskip("langdetect")
    # langdetect cannot classify text without letters: counted as followed, as officially.
    assert check_instruction("language:response_language", "12345", kwargs={"language": "de"})
    assert not check_instruction("change_case:english_capital", "123 abc")


def test_none_values_count_as_absent() -> None:
    kwargs = {"num_words": 2, "relation": "at least", "keyword": None, "num_highlights": None}
    assert check_instruction("length_constraints:number_words", "two words", kwargs=kwargs)
    assert check_instruction("punctuation:no_comma", "ok", kwargs={"keywords": None})


def test_prompt_is_the_default_prompt_to_repeat() -> None:
    prompt = "Tell me a joke."
    text = "Tell me a joke. Why did the chicken cross the road?"
    assert check_instruction("combination:repeat_prompt", text, prompt=prompt)
    assert not check_instruction(
        "combination:repeat_prompt", text, prompt=prompt, kwargs={"prompt_to_repeat": "Other."}
    )
    with pytest.raises(ValidationError, match="prompt_to_repeat") as info:
        check_instruction("combination:repeat_prompt", text)
    assert info.value.field == "kwargs.prompt_to_repeat"


def test_loose_mode() -> None:
    text = 'Sure! Here it is:\n"The whole answer."'
    assert not check_instruction("startend:quotation", text)
    assert check_instruction("startend:quotation", text, loose=True)  # first line removed
    ender = {"end_phrase": "Is there anything else I can help with?"}
    bold = "Answer.\n**Is there anything else I can help with?**"
    assert not check_instruction("startend:end_checker", bold, kwargs=ender)
    assert check_instruction("startend:end_checker", bold, kwargs=ender, loose=True)  # no '*'
    assert not check_instruction("punctuation:no_comma", "a, b\nc, d", loose=True)
    assert len(loose_variants("a\nb")) == 8
    assert loose_variants("a\n*b*\nc")[7] == "b"


def test_grade_ifeval_shape() -> None:
    ids = ["startend:quotation", "punctuation:no_comma", "length_constraints:number_words"]
    kwargs: list[dict[str, Any] | None] = [{}, None, {"num_words": 3, "relation": "at least"}]
    text = 'Hi!\n"Hello there, my friend."'
    strict = grade_ifeval(text, ids, kwargs)
    assert strict == {
        "correct": False,
        "score": pytest.approx(1 / 3),
        "grader": "ifeval",
        "details": [
            {"instruction_id": "startend:quotation", "followed": False},
            {"instruction_id": "punctuation:no_comma", "followed": False},
            {"instruction_id": "length_constraints:number_words", "followed": True},
        ],
    }
    loose = grade_ifeval(text, ids, kwargs, loose=True)
    assert loose["grader"] == "ifeval-loose"
    # the last line removed leaves "Hi!", which has no comma
    assert [d["followed"] for d in loose["details"]] == [True, True, True]
    ok = grade_ifeval("No commas.", ["punctuation:no_comma"], [{}])
    assert ok["correct"] is True and ok["score"] == 1.0


def test_unknown_instruction_has_did_you_mean() -> None:
    with pytest.raises(ValidationError, match="did you mean 'punctuation:no_comma'") as info:
        check_instruction("punctuation:no_commas", "x")
    assert info.value.field == "instruction_id"
    with pytest.raises(ValidationError, match="did you mean 'detectable_format:title'"):
        check_instruction("title", "x")
    with pytest.raises(ValidationError, match="unknown IFEval instruction"):
        grade_ifeval("x", ["nope:nothing"], [{}])


@pytest.mark.parametrize(
    ("iid", "kwargs", "field", "match"),
    [
        ("length_constraints:number_words", {"relation": "at least"}, "num_words", "missing"),
        ("length_constraints:number_words", {"num_words": "3", "relation": "at least"},
         "num_words", "as an int"),
        ("length_constraints:number_words", {"num_words": True, "relation": "at least"},
         "num_words", "as an int"),
        ("length_constraints:number_words", {"num_words": -1, "relation": "at least"},
         "num_words", ">= 0"),
        ("length_constraints:number_words", {"num_words": 3, "relation": "at most"},
         "relation", "less than"),
        ("length_constraints:number_words", {"num_words": 3, "relation": "at least", "numwords": 1},
         "numwords", "did you mean 'num_words'"),
        ("punctuation:no_comma", {"keyword": "x"}, "keyword", "takes no argument"),
        ("keywords:existence", {"keywords": "cat"}, "keywords", "list of strings"),
        ("keywords:existence", {"keywords": []}, "keywords", "list of strings"),
        ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1,
         "let_relation": "at least"}, "letter", "one character"),
        ("startend:end_checker", {"end_phrase": "  "}, "end_phrase", "non-empty string"),
        ("length_constraints:nth_paragraph_first_word",
         {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"}, "nth_paragraph", "<="),
    ],
)  # fmt: skip
def test_bad_kwargs_name_the_kwarg(
    iid: str, kwargs: dict[str, Any], field: str, match: str
) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        check_instruction(iid, "some text", kwargs=kwargs)
    assert info.value.field == f"kwargs.{field}"


def test_grade_validates_lists_and_text() -> None:
    with pytest.raises(ValidationError, match="2 entries for 1"):
        grade_ifeval("x", ["punctuation:no_comma"], [{}, {}])
    with pytest.raises(ValidationError, match="at least one"):
        grade_ifeval("x", [], [])
    with pytest.raises(ValidationError) as info:
        grade_ifeval(None, ["punctuation:no_comma"], [{}])  # type: ignore[arg-type]
    assert info.value.field == "text"
    with pytest.raises(ValidationError, match="kwargs"):
        check_instruction("punctuation:no_comma", "x", kwargs=["a"])  # type: ignore[arg-type]


def test_keywords_are_regexes_and_invalid_ones_are_literal() -> None:
    kw = {"keyword": "c++", "frequency": 2, "relation": "at least"}
    assert check_instruction("keywords:frequency", "C++ and c++", kwargs=kw)
    assert check_instruction("keywords:existence", "colour", kwargs={"keywords": ["colou?r"]})


SENTENCES = [
    ("Hello world. How are you?", 2),
    ("Mr. Smith met Dr. Jones at 3 p.m. yesterday. They talked.", 2),
    ("Pi is about 3.14. That is well known.", 2),
    ("I like fruit, e.g. apples and pears, i.e. the usual ones.", 1),
    ("Apples, pears, etc. are fruit. Etc. The list goes on.", 3),
    ("Wait... What happened? Nothing... really nothing.", 3),
    ('She said, "Stop!" Then she left.', 2),
    ("He shouted (loudly!) at them. Nobody moved.", 3),  # Punkt splits after "!)" too
    ("J. K. Rowling wrote it. It sold well.", 2),
    ("We moved to the U.S. in 2010. It was cold.", 2),
    ("Really?! Yes.", 2),
    ("1. First item\n2. Second item", 3),  # Punkt splits a list number before a capital
    ("Title without a period\nThe body starts here. It ends here.", 2),
    ("Visit example.com today. Version 2.0.1 is out.", 2),
    ("**Done.** Next one.", 2),
    ("", 0),
    ("   \n ", 0),
]


@pytest.mark.parametrize(("text", "n"), SENTENCES)
def test_sentence_splitter(text: str, n: int) -> None:
    assert count_sentences(text) == n, split_sentences(text)


def test_sentence_text_and_realignment() -> None:
    assert split_sentences('He said "Hi." Then he left.') == ['He said "Hi."', "Then he left."]
    assert split_sentences("(Sent one.) Sent two.") == ["(Sent one.)", "Sent two."]


def test_words_and_tokens() -> None:
    assert count_words("It's 3.5 km—roughly.") == 6  # It, s, 3, 5, km, roughly
    assert word_tokens("DON'T stop. AT&T, U.S. and STATE-OF-THE-ART!") == [
        "DO", "N'T", "stop.", "AT", "&", "T", ",", "U.S.", "and", "STATE-OF-THE-ART", "!",
    ]  # fmt: skip
    assert word_tokens('"CANNOT" he said') == ["``", "CAN", "NOT", "''", "he", "said"]
