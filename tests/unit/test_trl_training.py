"""One optimisation step of TRL's DPOTrainer and SFTTrainer on exported data (tiny model, CPU)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tiny_models import tiny_model
from tests.fixtures.training_data import graded_store
from workbench.export import export_dpo, export_sft, load_rows
from workbench.pairs import make_pairs

pytest.importorskip("trl", reason="TRL is not installed (pip install trl)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Preference and SFT files written by the exporters and read back with datasets."""
    import datasets

    root = tmp_path_factory.mktemp("trl")
    store, _ = graded_store(root / "s.db")
    make_pairs(store, "correctness")
    make_pairs(store, "length")
    dpo = export_dpo(store).write(root / "dpo.jsonl").path
    sft = export_sft(store, rows_from="correct").write(root / "sft.parquet").path
    store.close()
    return {
        "root": root,
        "dpo": datasets.Dataset.from_list(load_rows(dpo, cache_dir=root / "hf")),
        "sft": datasets.Dataset.from_list(load_rows(sft, cache_dir=root / "hf")),
    }


def common_args(root: Path) -> dict[str, Any]:
    return dict(
        output_dir=str(root / "out"),
        max_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        bf16=False,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        max_length=256,
    )


def test_one_dpo_step(exported: dict[str, Any]) -> None:
    from trl import DPOConfig, DPOTrainer

    model, tokenizer = tiny_model("qwen3")
    reference, _ = tiny_model("qwen3")
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=DPOConfig(**common_args(exported["root"])),
        train_dataset=exported["dpo"],
        processing_class=tokenizer,
    )
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss)


def test_one_sft_step(exported: dict[str, Any]) -> None:
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = tiny_model("qwen3")
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**common_args(exported["root"])),
        train_dataset=exported["sft"],
        processing_class=tokenizer,
    )
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss)
