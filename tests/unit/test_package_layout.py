"""The package's shape: module sizes, layering, the public face, and install hints.

These are the rules a new engineer relies on (see ``docs/architecture.md``), checked on every run.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "workbench"
MAX_LINES = 600
DOMAIN = ("trajectory.py", "think.py", "store", "session", "backends", "display")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules along their seams (limit {MAX_LINES} lines): {long}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif (  # importlib.import_module("workbench.widgets...") counts too
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def test_the_domain_layer_never_imports_the_widgets() -> None:
    offenders = {}
    for p in _modules():
        rel = p.relative_to(PACKAGE)
        if rel.parts[0] not in DOMAIN:
            continue
        up = {
            m for m in _imports(p) if m == "workbench.widgets" or m.startswith("workbench.widgets.")
        }
        if rel.parts[0] == "display" and rel.name == "_renderers.py":
            # the registry imports the widgets package by name, only when a widget is wanted
            up.discard("workbench.widgets")
        if up:
            offenders[str(rel)] = sorted(up)
    assert not offenders, offenders


def test_nothing_outside_widgets_imports_a_private_widget_module() -> None:
    offenders = {}
    roots = [PACKAGE, REPO / "extensions" / "workbench_jupyterlab"]
    for root in roots:
        for p in root.rglob("*.py"):
            if "widgets" in p.relative_to(root).parts[:1]:
                continue
            private = {m for m in _imports(p) if re.match(r"workbench\.widgets\._", m)}
            if private:
                offenders[str(p.relative_to(REPO))] = sorted(private)
    assert not offenders, offenders


def test_the_public_face() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, workbench as wb; wb.Session; wb.Run; wb.renderers; "
            "print(sorted(m for m in ('anywidget', 'numba', 'torch', 'altair', 'vllm') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    # importing workbench (and touching the session) loads no heavy engine or widget library
    assert out.stdout.strip() == "[]", out.stdout
    import workbench as wb

    for name in wb.__all__:
        assert getattr(wb, name) is not None, name
    assert {"Session", "Run", "renderers", "analyze_store", "export_dpo", "make_pairs"} <= set(
        wb.__all__
    )
    with pytest.raises(AttributeError, match="no attribute 'Sesion'"):
        wb.Sesion  # noqa: B018


_BAD_HINT = re.compile(r"pip install (?:-U |--upgrade )?['\"]?workbench(?:\[|['\"]|\s|$)")


def test_no_hint_installs_the_unrelated_workbench_package() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] != "workbench"
    for extra, deps in project["optional-dependencies"].items():
        for dep in deps:
            assert not re.match(r"workbench\[", dep), (extra, dep)
    files = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    bad = []
    for name in files:
        path = REPO / name
        if path.suffix not in {".py", ".md", ".toml", ".ipynb", ".yml", ".ts", ".txt", ""}:
            continue
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        bad += [f"{name}: {m.group(0)}" for m in _BAD_HINT.finditer(text)]
    assert not bad, bad


FACES = ("workbench", "workbench.analysis")


@pytest.mark.parametrize("face", FACES)
def test_no_public_name_of_a_face_is_shadowed_by_a_submodule(face: str) -> None:
    # Importing ``pkg.name`` binds the submodule as attribute ``name`` of ``pkg``: a function
    # exported under the name of a submodule would then turn into that module. Names that are
    # meant to be submodules are listed as modules in the face.
    code = (
        "import importlib, pkgutil, types, json\n"
        f"pkg = importlib.import_module({face!r})\n"
        "for info in pkgutil.iter_modules(pkg.__path__):\n"
        "    if not info.name.startswith('_'):\n"
        "        try:\n"
        "            importlib.import_module(f'{pkg.__name__}.{info.name}')\n"
        "        except ImportError:\n"
        "            pass\n"
        "wrong = [n for n in pkg.__all__ if isinstance(getattr(pkg, n), types.ModuleType)\n"
        "         and n not in getattr(pkg, 'SUBMODULES', ())]\n"
        "print(json.dumps(wrong))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]", f"{face}: these names turned into submodules: {out.stdout}"


_LOADS_THE_DEFAULT_MODEL = re.compile(
    r"(TransformersBackend|Session)\(\s*\"smollm2-135m\"|resolve_model\(\s*\"smollm2-135m\"\s*\)"
    r"|\"transformers\",\s*\"serve\""
)


def test_unit_tests_load_no_model_and_start_no_server() -> None:
    # The rule of tests/README.md: those belong in tests/integration.
    offenders = [
        str(p.relative_to(REPO))
        for p in sorted((REPO / "tests" / "unit").glob("*.py"))
        if _LOADS_THE_DEFAULT_MODEL.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"move these to tests/integration (see tests/README.md): {offenders}"


def test_the_readme_layout_lists_every_subpackage() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\s+(\w+)/", section, flags=re.M))
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} | {"samples"}
    assert subpackages <= listed, f"add to the README's layout: {sorted(subpackages - listed)}"
    architecture = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = sorted(n for n in subpackages - {"samples"} if f"{n}/" not in architecture)
    assert not missing, f"describe in docs/architecture.md: {missing}"
