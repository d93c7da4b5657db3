"""The README and the pages in docs/ run as written.

Every ``sh`` block and every ``python`` block of README.md and docs/*.md is
run, in order, page by page, the way a reader pastes them: in a shell whose
virtual environment is active (the venv's bin first on PATH), from a scratch
folder that holds the repository's files (symlinks), with a fresh HOME, so
that what a block writes (captures, an installed dissector) stays out of the
checkout and out of the user's Wireshark.  Blocks of one page share that
folder: a later block may read what an earlier one wrote.  ``/tmp/`` in a
block becomes the scratch folder, so that concurrent runs do not meet.

A block that cannot run here says why on the line before it:
``<!-- needs: hardware -->`` (a meter or serial adapters), ``gui`` (a
display), ``suite`` (it is the test suite, or runs it), ``long`` (a benchmark at
full scale).  Nothing else skips
a block.  Root on Wireshark 4.4 and later runs no personal Lua plugin, so
there the blocks that use tshark, pyshark or an installed dissector are left
out; everything else still runs.

Also: every picture a page shows is in the repository, every fenced block
says what it holds, and no command spells out ``.venv/bin/``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from luadiff import drops_privileges
from test_doc_references import tracked_files

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS = {
    "hardware": "a meter or serial adapters",
    "gui": "a display for Wireshark",
    "suite": "it is the test suite, or runs it",
    "long": "a benchmark at full scale: minutes to an hour",
}
SHELL = {"sh", "bash", "shell"}
RUN = SHELL | {"python"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NEEDS_MARK = re.compile(r"<!-- needs: ([\w-]+) -->\s*\Z")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
WIRESHARK_USE = re.compile(r"\b(tshark|wireshark|pyshark)\b|mep-dissector (install|check)")
TIMEOUT = 300
"""Seconds one block may take: every block is bounded, this only stops a hang."""


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    needs: str | None

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.lang})"


def parse(text: str) -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, needs) of every fenced block of a Markdown text."""
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()]
        mark = NEEDS_MARK.search(before)
        found.append((before.count("\n") + 1, m.group(1).strip().split(" ")[0], m.group(2),
                      mark.group(1) if mark else None))
    return found


def blocks(page: Path) -> list[Block]:
    return [Block(page, *found) for found in parse(page.read_text(encoding="utf-8"))]


def runnable(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang in RUN and b.needs is None]


def scratch(tmp: Path) -> dict[str, str]:
    """``tmp`` laid out as a checkout with the venv active; the environment for a block."""
    for entry in sorted({p.relative_to(ROOT).parts[0] for p in tracked_files()}):
        (tmp / entry).symlink_to(ROOT / entry)
    (tmp / ".venv").symlink_to(Path(sys.prefix))
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEP_")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(HOME=str(home), VIRTUAL_ENV=sys.prefix, LC_ALL="C.UTF-8",
               PATH=venv_bin + os.pathsep + env.get("PATH", ""))
    return env


def run_block(block: Block, tmp: Path, env: dict[str, str], n: int) -> subprocess.CompletedProcess:
    code = block.code.replace("/tmp/", f"{tmp}/")
    if block.lang in SHELL:
        argv = ["bash", "-e", "-c", code]
    else:
        script = tmp / f"block{n}.py"
        script.write_text(code)
        argv = [sys.executable, str(script)]
    proc = subprocess.Popen(argv, cwd=tmp, env=env, text=True, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\n[stopped after {TIMEOUT} s]"
    finally:
        # Whatever the block left running in the background (a simulator, a capture).
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


PAGES = [p for p in DOCS if runnable(p)]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    env = scratch(tmp_path)
    no_user_lua = drops_privileges()
    ran = 0
    for n, block in enumerate(runnable(page)):
        if no_user_lua and WIRESHARK_USE.search(block.code):
            continue
        res = run_block(block, tmp_path, env, n)
        assert res.returncode == 0, (
            f"{block} exited {res.returncode}\n--- block\n{block.code}--- stdout (end)\n"
            f"{res.stdout[-3000:]}\n--- stderr (end)\n{res.stderr[-3000:]}")
        assert "Traceback" not in res.stderr, f"{block}\n{res.stderr[-3000:]}"
        assert "Lua" not in res.stderr, f"{block}: a Lua error\n{res.stderr[-3000:]}"
        ran += 1
    assert ran or no_user_lua, f"{page}: no block ran"


def test_the_walkthroughs_have_blocks_to_run() -> None:
    """The README and the user's pages keep runnable walkthroughs (a marker or a renamed
    fence would otherwise turn the test above into nothing)."""
    pages = ["README.md", "docs/capture.md", "docs/dissector.md", "docs/python-api.md",
             "docs/simulator-client.md"]
    assert [p for p in pages if not runnable(ROOT / p)] == []
    readme = runnable(ROOT / "README.md")
    assert {b.lang for b in readme} == {"sh", "python"}


def test_blocks_say_what_they_hold_and_skip_only_for_known_reasons() -> None:
    bad = [f"{b}: fence without a language" for p in DOCS for b in blocks(p) if not b.lang]
    bad += [f"{b}: needs {b.needs!r}, not one of {sorted(NEEDS)}"
            for p in DOCS for b in blocks(p) if b.needs is not None and b.needs not in NEEDS]
    assert not bad, "\n".join(bad)


def test_commands_are_bare() -> None:
    """One convention: activate the venv once (``. .venv/bin/activate``), then bare commands."""
    bad = [f"{b}: {line.strip()}"
           for p in DOCS for b in blocks(p) if b.lang in SHELL | {"console"}
           for line in b.code.splitlines()
           if ".venv/bin/" in line and line.strip() != ". .venv/bin/activate"]
    assert not bad, "\n".join(bad)


def test_pictures_are_in_the_repository() -> None:
    tracked = set(tracked_files())
    pictures = [(page, target) for page in DOCS
                for m in IMAGE.finditer(page.read_text(encoding="utf-8"))
                for target in m.groups() if target]
    assert any(page.name == "README.md" for page, _ in pictures), "the README shows no picture"
    missing = [f"{page.relative_to(ROOT)}: {target}" for page, target in pictures
               if re.match(r"^[a-z][a-z0-9+.-]*:", target)
               or (page.parent / target).resolve() not in tracked]
    assert not missing, "\n".join(missing)


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 300


def test_the_block_reader_sees_markers_and_languages() -> None:
    text = ("a\n\n<!-- needs: hardware -->\n```sh\nmep-capture -D\n```\n\n```python\nprint(1)\n"
            "```\n<!-- needs: gui -->\n\ntext between\n```\nplain\n```\n")
    assert parse(text) == [(4, "sh", "mep-capture -D\n", "hardware"),
                           (8, "python", "print(1)\n", None),
                           (14, "", "plain\n", None)]
