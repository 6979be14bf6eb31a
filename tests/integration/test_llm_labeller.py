"""The LLM labeller end to end against a real `transformers serve` running the default model.

The 135M model labels poorly; what is checked is the pipeline: every segment gets a label of the
taxonomy (parsed from the model's answer, or a recorded rule fallback), and every label records
the model, the backend, the prompt template and the exact prompt sent.
"""

from __future__ import annotations

from tests.integration.test_openai_backend import Served, served  # noqa: F401 - the fixture
from workbench import Store, Trajectory
from workbench.analysis._llm_labeller import LLMLabeller
from workbench.analysis._llm_prompts import prompt_template
from workbench.analysis._segment import segment
from workbench.backends.openai_compat import OpenAIBackend

RAW = (
    "<think>\nOkay, the problem asks for the sum of 17 and 25. So 17 + 25 = 42. Wait, let me "
    "check that again: 17 + 20 = 37, and 37 + 5 = 42. I remember that adding tens first is "
    "easier. Maybe I should test it with 10 + 5 = 15. So the answer is 42.\n</think>\n\n42"
)


def test_llm_labeller_labels_a_trace_through_a_real_server(
    served: Served,  # noqa: F811 - the fixture
    tmp_path,
) -> None:
    backend = OpenAIBackend(served.model, base_url=served.base_url, timeout=120.0)
    trajectory = Trajectory(prompt="What is 17 + 25?", raw=RAW, model="r1-like")
    segments = segment(trajectory)
    assert len(segments) >= 3
    labeller = LLMLabeller(backend, taxonomy="venhoff", batch_size=2, retries=1,
                           max_new_tokens=96)  # fmt: skip
    labelled = labeller.label_segments(segments)
    names = {name for name, _ in prompt_template("venhoff").labels}
    parsed = 0
    for seg in labelled:
        meta = seg.label_meta or {}
        assert seg.label_source == "model" and seg.labels and seg.labels[0] in names
        assert meta["model"] == served.model and meta["backend"] == "openai"
        assert meta["template"] == "venhoff/1" and seg.text in meta["prompt"]
        assert len(meta["prompt_sha256"]) == 64 and meta["attempt"] in (1, 2)
        assert "raw_answer" in meta or "error" in meta
        parsed += "fallback" not in meta
    # the labels and their provenance survive the store
    with Store(tmp_path / "s.db") as store:
        store.add(trajectory)
        store.add_segments(trajectory.id, labelled)
        again = store.get_segments(trajectory.id)
    assert [s.label_meta for s in again] == [s.label_meta for s in labelled]
    print(f"{parsed}/{len(labelled)} labels parsed from the model's answers")
