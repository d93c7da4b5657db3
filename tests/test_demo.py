"""The demo (``make demo``) runs end to end: simulator, client, tap capture, decoders.

It prints a short summary, writes its capture and the full decodes under
build/demo/, and leaves the repository's files as they were.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from mepshark.dissector.link import read_capture
from mepshark.sim.tapped import demo_keys

ROOT = Path(__file__).resolve().parents[1]


def _tracked_state() -> tuple[str, str]:
    """``git status`` of the tracked files and the committed demo capture's hash."""
    git = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                         cwd=ROOT, capture_output=True, text=True)
    status = git.stdout if git.returncode == 0 else ""  # not a git checkout: the hash only
    return status, hashlib.sha256((ROOT / "pcaps" / "demo.pcapng").read_bytes()).hexdigest()


def test_make_demo_prints_a_summary_and_leaves_the_repository_alone(tmp_path):
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert recipe.strip().endswith("$(BIN)/python -m mepshark.sim.demo")  # as run below
    before = _tracked_state()
    run = subprocess.run([sys.executable, "-m", "mepshark.sim.demo"], cwd=ROOT,
                         env={**os.environ, "HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _tracked_state() == before

    text = run.stdout
    assert len(text.splitlines()) <= 20, text
    assert "EP39 result 0" in text and "kWh" in text and "RC4-encrypted" in text
    assert re.search(r"tshark with mep\.lua: \d+ packets", text)
    assert re.search(r"Response: OK cnt=\d+ \(BT28 Present Register Data\)", text)
    assert "mep.bt23.fwd_active_wh_l1l2l3=" in text
    assert "0 bad" in text and "0 malformed" in text
    if importlib.util.find_spec("mbedtls") is not None:
        assert "TLS-PSK" in text and "6 TLS opened" in text  # BT21 (its dimensions), BT28, BT23
        assert re.search(r"Response: TLS Success: OK cnt=\d+ \(BT28 Present Register Data\)",
                         text)
    else:  # Python 3.13 (Debian 13): python-mbedtls has no wheel; the demo says so and goes on
        assert "TLS: skipped, python-mbedtls is not installed" in text and "0 TLS opened" in text
    assert "01" * 16 not in text and "02" * 16 not in text  # keys never printed
    folder = ROOT / "build" / "demo"
    for name in ("demo.pcapng", "tshark.txt", "decode.txt"):
        assert f"build/demo/{name}" in text, name
    assert "fwd_active_wh_l1l2l3" in (folder / "decode.txt").read_text()  # table contents
    assert "BT28 Present Register Data" in (folder / "tshark.txt").read_text()

    frames = read_capture(folder / "demo.pcapng", demo_keys())
    kinds = [f.kind for f in frames]
    assert "alert" in kinds
    assert {f.direction for f in frames} == {0, 1}
    assert all(f.digest_status == 1 for f in frames if f.kind != "alert" and f.tls is None)
    opened = [f for f in frames if f.tls is not None and f.tls.packet is not None]
    tls_tables = {21, 23, 28} if importlib.util.find_spec("mbedtls") is not None else set()
    assert {f.table_id for f in opened} == tls_tables and all(f.table for f in opened
                                                           if f.kind == "response")
    assert any(f.encrypted for f in frames)
    assert not [e for f in frames for e in f.expert
                if "per 100 ms" in e or "were asked for" in e or "malformed" in e.lower()]
    tables = {f.table_id for f in frames}
    assert {0, 23, 28, 7, 2048 + 59} <= tables


def test_demo_writes_where_it_is_told(tmp_path):
    out = tmp_path / "elsewhere" / "session.pcapng"
    run = subprocess.run([sys.executable, "-m", "mepshark.sim.demo", "-o", str(tmp_path / "d"),
                          "-w", str(out), "--no-decode"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"capture: {out}" in run.stdout and read_capture(out, demo_keys())
    assert not (tmp_path / "pcaps").exists() and not (tmp_path / "build").exists()
