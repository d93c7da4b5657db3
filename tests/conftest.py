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
