"""Helpers the research notebooks share: quick mode, where the data is, offline charts.

The notebooks in ``notebooks/`` execute in CI in *quick mode* (``WORKBENCH_QUICK=1``: fewer
prompts, tokens and samples, never fewer steps) and read third-party traces from
``$WORKBENCH_EXTERNAL_DATA``. Nothing here is needed outside a notebook.

::

    from workbench.notebook import QUICK, by_mode, external_data, offline_charts

    offline_charts()                       # altair charts as SVG, no CDN
    N_PROMPTS = by_mode(quick=4, full=24)  # sizes depend on the mode
    traces = external_data("from_thinking_to_output", "traces.jsonl")
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import time
from pathlib import Path
from typing import Any, TypeVar

from workbench.errors import WorkbenchError

__all__ = [
    "DATA_ENV",
    "QUICK",
    "QUICK_ENV",
    "by_mode",
    "external_data",
    "find_external_data",
    "offline_charts",
    "png",
    "quick_mode",
    "repo_root",
    "run_tag",
]

QUICK_ENV = "WORKBENCH_QUICK"
"""Environment variable selecting quick mode (``1``, ``true`` or ``yes``)."""

DATA_ENV = "WORKBENCH_EXTERNAL_DATA"
"""Environment variable naming the folder of third-party reference data."""

T = TypeVar("T")


def quick_mode() -> bool:
    """Return whether quick mode is on (``$WORKBENCH_QUICK`` is ``1``, ``true`` or ``yes``)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes")


QUICK = quick_mode()
"""Quick mode, read once when this module is imported."""


def by_mode(*, quick: T, full: T) -> T:
    """Return ``quick`` in quick mode, else ``full`` (read from the environment at each call)."""
    return quick if quick_mode() else full


def repo_root() -> Path | None:
    """Return the source checkout this package was installed from (``None`` for a wheel)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def find_external_data() -> Path | None:
    """Return the third-party data folder, or ``None`` when it cannot be found.

    Looked for in ``$WORKBENCH_EXTERNAL_DATA``, then ``shared/data/external`` beside the source
    checkout, then ``../../shared/data/external`` and ``../shared/data/external`` from the
    working directory (a notebook's folder).
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        return path.resolve() if path.is_dir() else None
    candidates = [Path("../../shared/data/external"), Path("../shared/data/external")]
    root = repo_root()
    if root is not None:
        candidates.insert(0, root.parent / "shared" / "data" / "external")
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    return None


def external_data(*parts: str) -> Path:
    """Return a path inside the third-party data folder; raise a clear error when it is absent.

    Parameters
    ----------
    *parts
        Path components below the data folder (e.g. ``"ifeval_google", "input_data.jsonl"``).

    Raises
    ------
    WorkbenchError
        When the folder or the file does not exist, saying which variable to set.
    """
    base = find_external_data()
    if base is None:
        where = os.environ.get(DATA_ENV)
        raise WorkbenchError(
            f"${DATA_ENV} is {where!r}, which is not a folder"
            if where
            else "the third-party data folder was not found: set "
            f"{DATA_ENV}=/path/to/shared/data/external (or point this notebook at your own file)"
        )
    path = base.joinpath(*parts)
    if not path.exists():
        raise WorkbenchError(f"{path} does not exist: check ${DATA_ENV} ({base})")
    return path


def _no_chart(spec: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    title = spec.get("title")
    name = f" {title!r}" if isinstance(title, str) else ""
    return {
        "text/plain": f"<altair chart{name}: pip install vl-convert-python to render it offline>"
    }


def offline_charts() -> str:
    """Make altair render charts without a CDN; return the renderer chosen.

    Altair's default renderer loads Vega from a CDN, and JupyterLab's built-in renderer does not
    read the Vega-Lite version altair writes; so charts are rendered to SVG in the kernel with
    ``vl-convert`` (visible in JupyterLab, nbconvert and static viewers alike). Without
    ``vl-convert-python`` a chart displays as one line saying what to install.
    """
    import altair as alt

    if importlib.util.find_spec("vl_convert") is not None:
        alt.renderers.enable("svg")
        return "svg"
    if "workbench-missing" not in alt.renderers.names():
        alt.renderers.register("workbench-missing", _no_chart)
    alt.renderers.enable("workbench-missing")
    return "workbench-missing"


def png(chart: Any, *, scale: float = 2.0) -> Any:
    """Return ``chart`` rendered as a PNG image, for charts too dense for SVG (large heatmaps).

    Parameters
    ----------
    chart
        An altair chart with inline data.
    scale
        Pixel density (2: sharp on high-resolution screens).

    Returns
    -------
    IPython.display.Image or the chart
        The chart itself when ``vl-convert-python`` is not installed.
    """
    if importlib.util.find_spec("vl_convert") is None:
        return chart
    import vl_convert
    from IPython.display import Image

    return Image(data=vl_convert.vegalite_to_png(chart.to_dict(), scale=scale))


def run_tag(prefix: str) -> str:
    """Return a tag naming one execution of a notebook (``prefix-YYYYmmdd-HHMMSS-xxxx``).

    Notebooks tag what they generate with it and select by it, so running a notebook again
    against the same store analyses only the new run.
    """
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
