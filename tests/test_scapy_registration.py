"""scapy integration: ``import mepshark.dissector`` is all it takes, and the scapy
that runs these tests is one that pyproject.toml allows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import scapy
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PCAPS = sorted((ROOT / "pcaps").glob("*.pcapng"))

_PROBE = """
import json, sys
from scapy.config import conf
from scapy.utils import rdpcap

paths = sys.argv[1:]
before = {p: sorted({type(pkt).__name__ for pkt in rdpcap(p)}) for p in paths}
import mepshark.dissector  # nothing else: no link module, no register_dlt call
from mepshark.dissector.frames import MEP
from mepshark.dissector.c1218frames import C1218AckNak, C1218Packet  # records of a shared UART

after = {}
for p in paths:
    pkts = rdpcap(p)
    ours = (MEP, C1218Packet, C1218AckNak)
    after[p] = {"packets": len(pkts), "mep": sum(isinstance(x, ours) for x in pkts),
                "summaries": [x.summary() for x in pkts[:3]]}
print(json.dumps({"before": before, "after": after,
                  "l2type": conf.l2types.num2layer[147].__name__}))
"""


def scapy_requirement() -> SpecifierSet:
    """The scapy version range in pyproject.toml's dependencies."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'"scapy([^"]*)"', text)
    assert found, "pyproject.toml names no scapy dependency"
    return SpecifierSet(found.group(1))


def test_import_registers_the_user_dlt_and_rdpcap_gives_mep_frames():
    assert PCAPS, "no sample captures in pcaps/"
    out = subprocess.run([sys.executable, "-c", _PROBE, *map(str, PCAPS)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    got = json.loads(out.stdout)
    assert got["l2type"] == "MEP"
    for p in map(str, PCAPS):
        # scapy alone does not know DLT 147: the import is what makes the difference
        assert "MEP" not in " ".join(got["before"][p]), (p, got["before"][p])
        after = got["after"][p]
        assert after["packets"] > 0 and after["mep"] == after["packets"], (p, after)
        assert all(s and "Raw" not in s for s in after["summaries"]), (p, after["summaries"])


def test_installed_scapy_is_in_the_pinned_range():
    spec = scapy_requirement()
    # a range with both ends: a new scapy release must be tested before it is allowed
    assert any(s.operator in (">=", ">") for s in spec), spec
    assert any(s.operator in ("<", "<=") for s in spec), spec
    assert Version(scapy.__version__) in spec, f"scapy {scapy.__version__} not in {spec}"
