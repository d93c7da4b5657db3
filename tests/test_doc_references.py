"""Every document the repository refers to is in the repository.

* No tracked file cites the team's notes outside the product (the design
  notes file, the shared folder next to the checkout): what they said is in
  docs/architecture.md, in this project's words.
* Every ``*.md`` a file names exists (relative to that file or to the root).
* Every relative Markdown link in a tracked ``.md`` file points at a tracked
  file, and its ``#anchor``, if any, at a heading of that file.
* Every ``docs/architecture.md, "Section"`` citation in the code names a
  heading that page has.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Spelled in pieces so that this file does not itself contain what it forbids.
FORBIDDEN = ("DESIGN" + ".md", ".." + "/shared", "/work" + "/shared")

MD_MENTION = re.compile(r"(?<![\w./-])([\w./-]+\.md)\b")
MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
SECTION_CITE = re.compile(r'docs/architecture\.md,\s*"([^"]+)"')


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / p for p in out.stdout.decode().split("\0") if p and (ROOT / p).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None  # pcapng, pdf, ...
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def texts() -> dict[Path, str]:
    """Tracked text files but this one, whose self-test names missing files on purpose."""
    me = Path(__file__).resolve()
    return {p: t for p in tracked_files() if p != me and (t := text_of(p)) is not None}


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    s = re.sub(r"[`*_]", "", heading.strip().lower())
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def headings(md: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{1,6})\s+(.*)$", FENCE.sub("", md), re.M)]


def broken_links(path: Path, md: str, tracked: set[Path]) -> list[str]:
    """Relative links in ``md`` (the text of ``path``) that lead nowhere."""
    bad = []
    for target in MD_LINK.findall(FENCE.sub("", md)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if dest not in tracked and not (dest.is_dir() and any(
                t.is_relative_to(dest) for t in tracked)):
            bad.append(f"{path.relative_to(ROOT)}: link to {target}: no such file")
            continue
        if anchor and dest.suffix == ".md":
            if anchor not in {slug(h) for h in headings(dest.read_text(encoding="utf-8"))}:
                bad.append(f"{path.relative_to(ROOT)}: link to {target}: no such heading")
    return bad


def test_no_file_cites_documents_outside_the_repository():
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p, t in texts().items()
            for n, line in enumerate(t.splitlines(), 1)
            if any(f in line for f in FORBIDDEN)]
    assert not hits, "\n".join(hits)


def test_every_named_markdown_file_exists():
    tracked = set(tracked_files())
    missing = []
    for p, t in texts().items():
        for name in set(MD_MENTION.findall(t)):
            where = {(p.parent / name).resolve(), (ROOT / name).resolve()}
            if not where & tracked:
                missing.append(f"{p.relative_to(ROOT)}: {name}")
    assert not missing, "\n".join(missing)


def test_markdown_links_lead_somewhere():
    tracked = set(tracked_files())
    bad = [b for p in sorted(tracked) if p.suffix == ".md"
           for b in broken_links(p, p.read_text(encoding="utf-8"), tracked)]
    assert not bad, "\n".join(bad)


def test_cited_sections_of_the_architecture_page_exist():
    have = set(headings(ARCHITECTURE.read_text(encoding="utf-8")))
    cites = {(p.relative_to(ROOT), s) for p, t in texts().items() for s in SECTION_CITE.findall(t)}
    assert cites, "no code cites a section of docs/architecture.md"
    assert not [c for c in cites if c[1] not in have], sorted(c for c in cites if c[1] not in have)


def test_the_checks_catch_what_they_are_for():
    doc = ROOT / "docs" / "x.md"
    tracked = {ROOT / "README.md", ARCHITECTURE}
    md = ("[a](../README.md) [b](architecture.md#field-names) [c](https://example.org/x.md)\n"
          "[d](missing.md) [e](architecture.md#no-such-part)\n```\n[f](in-code.md)\n```\n")
    assert broken_links(doc, md, tracked) == [
        "docs/x.md: link to missing.md: no such file",
        "docs/x.md: link to architecture.md#no-such-part: no such heading",
    ]
    assert slug("How the Lua is made and checked") == "how-the-lua-is-made-and-checked"
    assert any(f in "see " + "DESIGN" + ".md" for f in FORBIDDEN)
