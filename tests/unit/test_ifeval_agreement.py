"""Our IFEval checkers agree with the peer implementation on the official GPT-4 responses.

The peer is ``if-verifiable`` (the google-research instruction code, packaged). It runs NLTK's
Punkt model, which needs the ``punkt_tab`` download: offline, its ``number_sentences`` and
``capital_word_frequency`` checks raise ``LookupError`` and are skipped (counted in the table).
For those two we add substitute comparisons that need no download: NLTK's own Punkt machinery
and Treebank tokenizer fed our parameters, which checks our re-implementation of the algorithm
(not NLTK's trained English model). Run with ``-s`` to see the table; :func:`agreement_table`
returns it as markdown for the docs.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import external_data_dir
from workbench.analysis.grading.ifeval import INSTRUCTIONS, check_instruction

pytestmark = pytest.mark.external

FOLDER = "ifeval_google"
RESPONSES = "input_response_data_gpt4_20231107_145030.shared.jsonl"
INPUTS = "input_data.jsonl"
PEER_HINT = "install if-verifiable (dev extra)"


@dataclass
class Tally:
    compared: int = 0
    agree: int = 0
    agree_loose: int = 0
    skipped: int = 0
    disagreements: list[str] = field(default_factory=list)


def _root() -> Path:
    root = external_data_dir()
    if root is None or not (root / FOLDER / RESPONSES).is_file():
        pytest.skip(
            "third-party data not found: set WORKBENCH_EXTERNAL_DATA to shared/data/external"
        )
    return root / FOLDER


def _require_peer() -> None:
    if importlib.util.find_spec("if_verifiable") is None:
        pytest.skip(PEER_HINT)


def _rows(folder: Path) -> list[tuple[dict[str, Any], str]]:
    """(input_data record, GPT-4 response) pairs, joined on the prompt."""
    inputs = {}
    for line in (folder / INPUTS).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        inputs[record["prompt"]] = record
    rows = []
    for line in (folder / RESPONSES).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        rows.append((inputs[record["prompt"]], record["response"]))
    return rows


def _peer_random(iid: str, kwargs: dict[str, Any]) -> bool:
    """The official checker swaps a non-letter `letter` ('#', '!') for a random one."""
    letter = kwargs.get("letter")
    return iid == "keywords:letter_frequency" and not (
        isinstance(letter, str) and len(letter) == 1 and letter in string.ascii_letters
    )


@functools.lru_cache(maxsize=1)
def _agreement(folder: Path) -> dict[str, Any]:
    import langdetect
    from if_verifiable import evaluate_output_for_sample
    from if_verifiable.types import IFEvalSample

    langdetect.DetectorFactory.seed = 0  # the peer does not seed; ours does
    logging.disable(logging.ERROR)  # the peer logs every undetectable language at ERROR
    try:
        tallies = {iid: Tally() for iid in INSTRUCTIONS}
        peer_random = 0
        for record, response in _rows(folder):
            for iid, kwargs in zip(record["instruction_id_list"], record["kwargs"], strict=True):
                tally = tallies[iid]
                if _peer_random(iid, kwargs):
                    peer_random += 1
                    continue
                sample = IFEvalSample(record["key"], record["prompt"], [iid], [kwargs])
                try:
                    (result,), _ = evaluate_output_for_sample("ifeval", sample, response)
                except LookupError:  # punkt_tab is not installed and cannot be downloaded
                    tally.skipped += 1
                    continue
                ours = check_instruction(iid, response, kwargs=kwargs, prompt=record["prompt"])
                loose = check_instruction(
                    iid, response, kwargs=kwargs, prompt=record["prompt"], loose=True
                )
                tally.compared += 1
                tally.agree += ours == result.strict_pass
                tally.agree_loose += loose == result.loose_pass
                if ours != result.strict_pass:
                    tally.disagreements.append(f"key {record['key']}: ours {ours}")
    finally:
        logging.disable(logging.NOTSET)
    return {"tallies": tallies, "peer_random": peer_random, "substitutes": _substitutes(folder)}


def _substitutes(folder: Path) -> dict[str, tuple[int, int]]:
    """Our splitter/tokenizer vs NLTK's algorithms with our parameters: (agree, compared)."""
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.tokenize.punkt import _ORTHO_MID_LC, PunktParameters, PunktSentenceTokenizer

    from workbench.analysis.grading.ifeval import count_sentences, word_tokens
    from workbench.analysis.grading.ifeval._punkt import ABBREVIATIONS, COMMON_WORDS

    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    params.sent_starters = set(COMMON_WORDS) | {"i"}
    for word in COMMON_WORDS:
        params.ortho_context[word] = _ORTHO_MID_LC  # seen in lower case, never sentence-first
    punkt = PunktSentenceTokenizer(params)
    treebank = NLTKWordTokenizer()
    counts: Counter[str] = Counter()
    for _, response in _rows(folder):
        counts["responses"] += 1
        counts["sentences"] += count_sentences(response) == len(punkt.tokenize(response))
        theirs = sum(t.isupper() for s in punkt.tokenize(response) for t in treebank.tokenize(s))
        counts["capitals"] += sum(t.isupper() for t in word_tokens(response)) == theirs
    n = counts["responses"]
    return {"sentence count": (counts["sentences"], n), "capital words": (counts["capitals"], n)}


def agreement_table(folder: Path | None = None) -> str:
    """The per-instruction agreement with the peer (strict; loose alongside) as markdown."""
    result = _agreement(folder or _root())
    tallies: dict[str, Tally] = result["tallies"]
    lines = [
        "| instruction | compared | strict agree | loose agree | skipped (peer offline) |",
        "|---|---:|---:|---:|---:|",
    ]
    for iid, t in tallies.items():
        share = f"{t.agree / t.compared:.1%}" if t.compared else "n/a"
        loose = f"{t.agree_loose / t.compared:.1%}" if t.compared else "n/a"
        lines.append(f"| {iid} | {t.compared} | {share} | {loose} | {t.skipped} |")
    compared = sum(t.compared for t in tallies.values())
    agree = sum(t.agree for t in tallies.values())
    agree_loose = sum(t.agree_loose for t in tallies.values())
    skipped = sum(t.skipped for t in tallies.values())
    lines.append(
        f"| **all** | {compared} | {agree / compared:.2%} | {agree_loose / compared:.2%} "
        f"| {skipped} |"
    )
    lines.append("")
    lines.append(
        f"Not compared: {result['peer_random']} check(s) whose official verdict is random "
        "(a `letter` that is not a letter)."
    )
    for name, (same, n) in result["substitutes"].items():
        lines.append(f"Substitute, NLTK algorithm with our parameters, {name}: {same}/{n} equal.")
    for iid, t in tallies.items():
        for line in t.disagreements:
            lines.append(f"Disagreement {iid}: {line}")
    return "\n".join(lines)


def test_agreement_with_peer_at_least_99_percent() -> None:
    folder = _root()
    _require_peer()
    table = agreement_table(folder)
    print("\n" + table)
    tallies: dict[str, Tally] = _agreement(folder)["tallies"]
    compared = sum(t.compared for t in tallies.values())
    agree = sum(t.agree for t in tallies.values())
    assert compared >= 500, table  # 657 checks, 64 of them need punkt_tab
    assert agree / compared >= 0.99, table
    assert all(t.compared + t.skipped > 0 for t in tallies.values()), table


def test_substitute_splitter_and_tokenizer_match_nltk_algorithms() -> None:
    folder = _root()
    _require_peer()
    for name, (same, n) in _agreement(folder)["substitutes"].items():
        assert n == 433 and same / n >= 0.99, name
