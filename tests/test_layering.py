"""Layering, tested: engine/ is pure computation, charts/ draws without Streamlit, labs keep
to their own rooms.

- engine/ never imports streamlit, plotly, charts or app_pages; charts/ never imports
  streamlit or app_pages (pages import charts and engine, never the other way round).
- One lab's engine package (engine/<lab>/) never imports another lab's: labs share only
  engine/data/ and the private helpers engine/_*.py, and those shared rooms import no lab.
  The rule is written over whatever engine/*/ packages exist, so it covers each new lab as
  it arrives. Declared exceptions: the two packages where clustering meets deep learning
  (clustered attention, deep clustering) may import both labs (``MAY_ALSO_IMPORT``).
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "engine": {"streamlit", "plotly", "charts", "app_pages"},
    "charts": {"streamlit", "app_pages"},
}

SHARED = {"data"}
"""engine/ packages every lab may import (besides the private helpers engine/_*.py)."""

MAY_ALSO_IMPORT = {
    "clustered_attention": {"kmeans", "attention"},
    "deep_clustering": {"kmeans", "attention"},
}
"""Declared exceptions: the Fusion lab's two packages are where the K-means and attention
labs meet (clustered attention uses the K-means engine on attention's queries; DEC starts
from the K-means engine's centres)."""


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, dotted and absolute (relative imports resolved).

    ``from a import b`` counts as ``a`` and ``a.b``, since ``b`` may be a submodule.
    """
    module = _module_name(path, root).split(".")
    package = module if path.name == "__init__.py" else module[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def _imported_roots(path: Path, root: Path = ROOT) -> set[str]:
    return {name.split(".")[0] for name in _imported_modules(path, root)}


def _forbidden_imports(path: Path, root: Path = ROOT) -> set[str]:
    return _imported_roots(path, root) & FORBIDDEN[path.relative_to(root).parts[0]]


def _other_lab_imports(path: Path, root: Path = ROOT) -> list[str]:
    """Modules of another lab imported by a file of engine/<package>/ or engine/_*.py."""
    engine = root / "engine"
    where = path.relative_to(engine).parts
    own = where[0] if len(where) > 1 else None
    allowed = {own, *SHARED, *MAY_ALSO_IMPORT.get(own, ())}

    def another_lab(part: str) -> bool:
        if part.startswith("_") or part in allowed:
            return False
        # A shared helper (engine/_*.py) may import no lab package; lab modules still
        # lying flat in engine/ are not packages yet and are not counted for it.
        return own is not None or (engine / part).is_dir()

    return sorted(
        name
        for name in _imported_modules(path, root)
        if name.startswith("engine.") and another_lab(name.split(".")[1])
    )


def _checked_engine_files(root: Path = ROOT) -> list[Path]:
    """Every file of every engine/*/ package, and the shared helpers engine/_*.py."""
    engine = root / "engine"
    helpers = [p for p in engine.glob("_*.py") if p.name != "__init__.py"]
    return sorted([*engine.glob("*/**/*.py"), *helpers])


@pytest.mark.parametrize(
    "path",
    sorted(p for pkg in FORBIDDEN for p in (ROOT / pkg).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_package_never_imports_forbidden_modules(path):
    assert not _forbidden_imports(path)


@pytest.mark.parametrize("path", _checked_engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_lab_engine_imports_no_other_lab(path):
    assert _other_lab_imports(path) == []


ATTENTION = "engine/attention/model.py"
DATA = "engine/data/reader.py"
HELPER = "engine/_helper.py"
FUSION = "engine/clustered_attention/run.py"
DEC = "engine/deep_clustering/dec.py"
OTHER_LAB = [
    # (file in a made-up tree, its imports, the labs the rule must report)
    (ATTENTION, "from engine.kmeans import KMeans", {"kmeans"}),
    (ATTENTION, "from ..kmeans.step import assign", {"kmeans"}),
    (ATTENTION, "from engine import kmeans", {"kmeans"}),
    (ATTENTION, "import engine.kmeans_analysis", {"kmeans_analysis"}),
    (ATTENTION, "from engine.data import Dataset\nfrom engine._checks import check_int", set()),
    (ATTENTION, "from . import tokens\nfrom .tokens import Vocabulary", set()),
    (DATA, "from engine.attention import MultiHeadAttention", {"attention"}),
    (HELPER, "from engine.kmeans import KMeans", {"kmeans"}),
    (HELPER, "from engine.data import Dataset", set()),
    (FUSION, "from engine.kmeans import KMeans\nfrom engine.attention import Trace", set()),
    (FUSION, "from engine.clustering import DBSCAN", {"clustering"}),
    (DEC, "from engine.kmeans import KMeans", set()),
    (DEC, "from engine.clustered_attention import clustered_attention", {"clustered_attention"}),
    (FUSION, "from engine.deep_clustering import DEC", {"deep_clustering"}),
]
FORBIDDEN_CASES = [
    ("engine/kmeans/plane.py", "import plotly.graph_objects as go", {"plotly"}),
    ("engine/kmeans/plane.py", "from charts import kmeans", {"charts"}),
    ("engine/data/export.py", "from app_pages.components.text import md_text", {"app_pages"}),
    ("charts/kmeans.py", "from app_pages import kmeans", {"app_pages"}),
    ("charts/kmeans.py", "import streamlit as st", {"streamlit"}),
    ("charts/kmeans.py", "import plotly.graph_objects as go\nfrom engine import data", set()),
]


def _made_up_file(root: Path, where: str, source: str) -> Path:
    for package in ("charts", "engine/kmeans", "engine/attention", "engine/data",
                    "engine/clustered_attention", "engine/deep_clustering"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    path = root / where
    path.write_text(source + "\n")
    return path


def _case_ids(cases: list) -> list[str]:
    return [f"{where}|{source.replace(chr(10), '; ')}" for where, source, _ in cases]


@pytest.mark.parametrize(("where", "source", "labs"), OTHER_LAB, ids=_case_ids(OTHER_LAB))
def test_the_lab_rule_reports_exactly_the_other_labs(tmp_path, where, source, labs):
    path = _made_up_file(tmp_path, where, source)
    assert path in _checked_engine_files(tmp_path)
    assert {name.split(".")[1] for name in _other_lab_imports(path, tmp_path)} == labs


@pytest.mark.parametrize(
    ("where", "source", "roots"), FORBIDDEN_CASES, ids=_case_ids(FORBIDDEN_CASES)
)
def test_the_forbidden_import_rule_reports_exactly_the_forbidden_roots(
    tmp_path, where, source, roots
):
    path = _made_up_file(tmp_path, where, source)
    assert _forbidden_imports(path, tmp_path) == roots


def test_importing_the_engine_loads_neither_streamlit_nor_plotly():
    # Every module of engine/, packages walked down to their last submodule.
    modules = sorted(_module_name(p, ROOT) for p in (ROOT / "engine").rglob("*.py"))
    assert "engine.data.csv_reader" in modules  # the walk reaches into packages
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


@pytest.mark.parametrize(
    "path", sorted((ROOT / "app_pages").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
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
            # f"{prefix}upload" (shared components take the lab's prefix) counts as "upload".
            parts = set(re.split(r"[_{}]", literal.strip("f\"'")))
            assert parts & set(words), (
                f"{path.name}:{node.lineno} key {literal} needs one of {words}"
            )
