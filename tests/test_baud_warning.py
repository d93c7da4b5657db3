"""``--baud`` with a rate MEP ports do not use is warned about, as the README says.

The rates are the ones ET13/ET14's baud rate code can select (the catalog);
others are still tried, since adapters and serial servers may run them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mepshark.dissector.catalog.manufacturer import BAUD_RATES
from mepshark.dissector.cliutil import baud_warning

MEP_RATES = {300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 115200}


def test_the_rates_are_the_et13_codes():
    assert {int(label.split()[0]) for label in BAUD_RATES.values()} == MEP_RATES
    assert all(baud_warning(rate) is None for rate in MEP_RATES)
    for odd in (12345, 1000, 9601, 230400, 110):
        text = baud_warning(odd)
        assert text and text.startswith(f"{odd} baud is not a rate") and "115200" in text


@pytest.mark.parametrize("baud, warned", [(12345, True), (19200, False)])
def test_mep_capture_warns_about_an_unusual_rate(tmp_path, baud, warned):
    run = subprocess.run([sys.executable, "-m", "mepshark.capture", "-i",
                          str(tmp_path / "ttyUSB9"), "--baud", str(baud), "-w",
                          str(tmp_path / "x.pcapng")], capture_output=True, text=True,
                         timeout=60)
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and lines[-1].startswith("mep-capture: cannot open ")
    assert len(lines) == 1 + warned
    if warned:
        assert lines[0].startswith("mep-capture: warning: 12345 baud is not a rate")
