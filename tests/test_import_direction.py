"""Package dependencies point one way (docs/architecture.md, "Layers").

``dissector/`` holds the protocol facts and imports none of the tools built
on it; ``capture/`` uses only the dissector; ``client/`` uses the dissector
and the capture helpers but not the simulator; ``sim/`` may use them all
(its demo drives a client).  The check reads every import statement of
every module, including those inside functions and ``importlib`` calls
with a literal name, so a lazy import cannot slip through.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dissector", "capture", "sim", "client")
"""Top-level folders that are the import packages ``mepshark.<folder>``."""

MAY_IMPORT = {
    "dissector": set(),
    "capture": {"dissector"},
    "client": {"dissector", "capture"},
    "sim": {"dissector", "capture", "client"},
}
"""Which other packages each package may import."""


def module_parts(path: Path) -> list[str]:
    """``dissector/catalog/layout.py`` -> ["mepshark", "dissector", "catalog", "layout"]."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = ["mepshark", *rel.parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(source: str, parts: list[str], is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # "from mepshark import capture" names the package in the alias
            if name == "mepshark":
                found += [(node.lineno, f"mepshark.{a.name}") for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def package_of(module: str) -> str | None:
    """The project package a module name belongs to, or None (stdlib, scapy, ...)."""
    parts = module.split(".")
    if parts[0] == "mepshark" and len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    if parts[0] in PACKAGES:  # a bare "import capture" from a checkout
        return parts[0]
    return None


def violations(path: Path, source: str | None = None) -> list[str]:
    """Every import in ``path`` that breaks :data:`MAY_IMPORT`, as "file:line -> module"."""
    own = path.relative_to(ROOT).parts[0]
    text = path.read_text(encoding="utf-8") if source is None else source
    parts = module_parts(path)
    bad = []
    for line, module in imported_modules(text, parts, path.name == "__init__.py"):
        target = package_of(module)
        if target is not None and target != own and target not in MAY_IMPORT[own]:
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({own} -> {target})")
    return bad


def project_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_every_package_is_walked():
    mods = project_modules()
    for pkg in PACKAGES:
        assert any(p.relative_to(ROOT).parts[0] == pkg for p in mods), pkg
    # the walk sees the imports that are allowed, so a silent parse failure
    # cannot pass for a clean tree
    seen = {
        (p.relative_to(ROOT).parts[0], package_of(m))
        for p in mods
        for _, m in imported_modules(p.read_text(encoding="utf-8"), module_parts(p),
                                     p.name == "__init__.py")
    }
    assert {("capture", "dissector"), ("client", "dissector"), ("client", "capture"),
            ("sim", "dissector"), ("sim", "client")} <= seen


@pytest.mark.parametrize("pkg", PACKAGES)
def test_imports_point_one_way(pkg):
    bad = [v for p in project_modules() if p.relative_to(ROOT).parts[0] == pkg
           for v in violations(p)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path, source", [
    ("dissector/link.py", "from ..capture.pcapng import DLT_USER0\n"),
    ("dissector/catalog/layout.py", "from ...sim import port\n"),
    ("dissector/cli.py", "def f():\n    import mepshark.client.link\n"),
    ("dissector/cli.py", "from mepshark import sim\n"),
    ("dissector/cli.py", "import importlib\nimportlib.import_module('mepshark.capture.cli')\n"),
    ("client/link.py", "from mepshark.sim.port import paced\n"),
    ("capture/cli.py", "from mepshark.client.recorder import Recorder\n"),
])
def test_checker_catches_a_wrong_way_import(path, source):
    assert violations(ROOT / path, source)


@pytest.mark.parametrize("path, source", [
    ("dissector/catalog/layout.py", "from ..tables import table_id\nfrom . import types\n"),
    ("capture/session.py", "from mepshark.dissector.deframer import Deframer\n"),
    ("client/link.py", "from mepshark.capture.ptyline import paced\n"),
    ("sim/demo.py", "from mepshark.client.link import Link\n"),
])
def test_checker_lets_the_right_way_pass(path, source):
    assert violations(ROOT / path, source) == []
