"""The capture corpus in pcaps/ (made by pcaps/make_corpus.py) shows what its README says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mepshark.dissector.link import read_capture
from mepshark.sim.tapped import demo_keys

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"


def load(name: str):
    path = PCAPS / f"{name}.pcapng"
    if not path.exists():
        pytest.skip(f"{path.name} not generated (python pcaps/make_corpus.py)")
    frames = read_capture(path, demo_keys())
    codes = Counter(getattr(f.packet or f.frame, "response_code", None) for f in frames
                    if f.kind == "response")
    return frames, codes


def test_readme_lists_every_capture():
    text = (PCAPS / "README.md").read_text()
    for name in ("plain", "encrypted", "alerts", "errors", "noisy", "demo"):
        assert f"{name}.pcapng" in text
    assert "01" * 16 not in text and "02" * 16 not in text


def test_plain_and_encrypted_sessions_verify():
    for name, encrypted in (("plain", False), ("encrypted", True)):
        frames, codes = load(name)
        assert all(f.digest_status == 1 for f in frames)
        assert codes[0x0C] == 1 and codes[0x00] >= 7
        assert any(f.encrypted for f in frames) == encrypted


def test_alerts_capture():
    frames, _ = load("alerts")
    assert sum(f.kind == "alert" for f in frames) >= 2
    assert sum(f.table_id == 7 for f in frames if f.kind == "request") == 3  # three EP39 posts
    assert all(f.digest_status == 1 for f in frames if f.kind != "alert")


def test_errors_capture():
    frames, codes = load("errors")
    assert {0x0B, 0x03, 0x05, 0x0C} <= set(codes)
    assert any(f.retried or f.retransmission_of for f in frames)
    assert any(f.digest_status == 0 for f in frames if f.kind == "response")


def test_noisy_capture_still_completes():
    frames, codes = load("noisy")
    assert codes[0x00] >= 9  # every table read made it in the end
    assert any(f.no_response for f in frames)
