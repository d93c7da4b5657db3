#!/usr/bin/env python3
"""Write pcaps/spec-examples.pcapng from the MEP guide's example messages.

Usage: python pcaps/make_spec_examples.py [OUTPUT]

Requests go on interface 0 (the client's line, EPB outbound), responses on
interface 1 (the meter's line, EPB inbound).  Times are synthetic but
plausible: 45 ms from request to response, 300 ms between exchanges,
starting at the guide's publication date, so the file is reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.context import TO_METER
from mepshark.dissector.examples import EXAMPLES

START = 1646136000.0  # 2022-03-01 12:00:00 UTC
DEFAULT_OUT = Path(__file__).with_name("spec-examples.pcapng")


def write(path: Path) -> int:
    with open(path, "wb") as f, PcapngWriter(f) as w:
        client = w.add_interface("client", "client module TXD: requests (MEP guide examples)")
        meter = w.add_interface("meter", "meter TXD: responses (MEP guide examples)")
        t = START
        for ex in EXAMPLES:
            if ex.direction == TO_METER:
                t += 0.300
                w.write(client, t, ex.wire, EPB_OUTBOUND, [ex.title])
            else:
                w.write(meter, t + 0.045, ex.wire, EPB_INBOUND, [ex.title])
        return w.packets


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    n = write(out)
    print(f"wrote {n} packets to {out}")
