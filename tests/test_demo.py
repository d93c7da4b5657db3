"""The demo (``make demo``) runs end to end: simulator, client, tap capture, decoders."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from mepshark.dissector.link import read_capture
from mepshark.sim.tapped import demo_keys

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_and_captures_a_decodable_session(tmp_path):
    out = tmp_path / "demo.pcapng"
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "mepshark.sim.demo", "-w", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    assert run.returncode == 0, run.stderr[-2000:]
    assert took < 30
    text = run.stdout
    assert "EP39 result 0" in text and "kWh" in text
    assert "fwd_active_wh_l1l2l3" in text  # the scapy decode shows table contents
    assert "01" * 16 not in text and "02" * 16 not in text  # keys never printed
    frames = read_capture(out, demo_keys())
    kinds = [f.kind for f in frames]
    assert "alert" in kinds
    assert {f.direction for f in frames} == {0, 1}
    assert all(f.digest_status == 1 for f in frames if f.kind != "alert")
    assert any(f.encrypted for f in frames)
    assert not [e for f in frames for e in f.expert
                if "per 100 ms" in e or "were asked for" in e or "malformed" in e.lower()]
    tables = {f.table_id for f in frames}
    assert {0, 23, 28, 7, 2048 + 59} <= tables
