"""Put the helper modules the tests import on sys.path, in every import mode:
this folder's (``catalogutil``, ``luadiff``, ``test_frames``), bench/'s
(``traffic``) and pcaps/'s (``make_use_cases``)."""

import sys
from pathlib import Path

_ROOT = Path(__file__).parent.parent
for _folder in (_ROOT / "pcaps", _ROOT / "bench", _ROOT / "tests"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))


def pytest_report_header(config):
    """Say which scapy ran, beside the range pyproject.toml allows."""
    import re

    import scapy

    pin = re.search(r'"scapy([^"]*)"', (_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return f"scapy {scapy.__version__} (pyproject.toml: scapy{pin.group(1) if pin else '?'})"

from simbench import bench  # noqa: E402, F401 - a fixture for test_client and test_tls_session

REALTIME = frozenset({
    "test_baud_warning.py", "test_capture_extcap.py", "test_capture_pty.py",
    "test_capture_support.py", "test_capture_timestamps.py", "test_capture_walkthrough.py",
    "test_client.py", "test_client_enable.py", "test_client_sigint.py", "test_demo.py",
    "test_optical.py", "test_optical_decode.py", "test_relay.py", "test_sim.py",
    "test_sim_line.py", "test_tls_session.py",
})
"""Modules that drive live lines (pseudo-terminals, sockets) at UART pace and check
what the clock gives: timestamps, pacing, the meter's timeouts and gaps.  They get
the ``realtime`` mark; ``make test`` runs them on their own after the rest, which
runs on several workers, so that no busy neighbour delays their bytes."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "realtime: drives live lines against the clock (make test runs these alone)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in REALTIME:
            item.add_marker("realtime")
