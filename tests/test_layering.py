"""Layering, tested: engine/ is pure computation and charts/ draws without Streamlit."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


FORBIDDEN = {"engine": {"streamlit", "plotly"}, "charts": {"streamlit"}}


@pytest.mark.parametrize(
    "path",
    sorted(p for pkg in FORBIDDEN for p in (ROOT / pkg).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_package_never_imports_forbidden_modules(path):
    package = path.relative_to(ROOT).parts[0]
    assert _imported_roots(path).isdisjoint(FORBIDDEN[package])


def test_importing_the_engine_loads_neither_streamlit_nor_plotly():
    modules = [f"engine.{p.stem}" for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _unwritable_key_words() -> tuple[str, ...]:
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == (
            "UNWRITABLE_KEY_WORDS"
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("app.py defines no UNWRITABLE_KEY_WORDS")


UNWRITABLE_WIDGETS = {"button", "download_button", "file_uploader", "form_submit_button"}


@pytest.mark.parametrize("path", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda p: p.name)
def test_unwritable_widget_keys_are_named_so_app_py_leaves_them_alone(path):
    # app.py writes every kmeans_*/attention_* widget value back to session state; a
    # button's or uploader's key written that way makes Streamlit refuse the page.
    words = _unwritable_key_words()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (
            isinstance(node, ast.Call) and getattr(node.func, "attr", "") in UNWRITABLE_WIDGETS
        ):
            continue
        for kw in node.keywords:
            if kw.arg != "key":
                continue
            literal = ast.get_source_segment(path.read_text(encoding="utf-8"), kw.value) or ""
            parts = set(literal.strip("f\"'").split("_"))
            assert parts & set(words), (
                f"{path.name}:{node.lineno} key {literal} needs one of {words}"
            )
