"""Synthetic but realistic MEP sessions for benchmarks and tests.

A client polls a meter the way the known modules do: register and energy
reads (BT23, BT28), the clock (BT52), alert flags (ET13) and status (ET70),
writes to ET50/BT07, with the odd alert, sequence resynchronisation (0x0C),
lost response and retry, and a share of RC4-encrypted exchanges.  Requests
use the MAK or the MBK so that verification exercises both keys.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import builders as b
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.security import Key, parse_key

MAK = parse_key("01" * 16, "MAK")
MBK = parse_key("02" * 16, "MBK")

_READS = [(23, 0, 44), (28, 0, 60), (52, 0, 7), (2061, 0, 40), (2118, 142, 1), (0, 0, 26)]
_WRITES = [(2098, 30, b"\x01"), (7, 0, bytes.fromhex("2708000100"))]


def session(
    frames: int, seed: int = 1, encrypted_share: float = 0.1
) -> Iterator[tuple[float, int, bytes]]:
    """Yield (time, EPB direction, frame bytes) until ``frames`` frames are made."""
    rng = random.Random(seed)
    clients = {MAK: b.Requester(MAK, 0x77635B91), MBK: b.Requester(MBK, 0x10000000)}
    t = 1700000000.0
    made = 0
    # configuration tables keep their contents; registers and status change
    static = {0: bytes(rng.getrandbits(8) for _ in range(26))}
    while made < frames:
        t += rng.uniform(0.1, 0.4)
        roll = rng.random()
        if roll < 0.04:
            yield t, EPB_INBOUND, b.ALERT
            made += 1
            continue
        key: Key = MAK if rng.random() < 0.7 else MBK
        client = clients[key]
        client.encrypt = rng.random() < encrypted_share
        if roll < 0.80:
            table, off, cnt = rng.choice(_READS)
            body = b.partial_read(table, off, cnt) if off or rng.random() < 0.5 else None
            body = body or b.full_read(table, cnt)
            data = static.get(table) or bytes(rng.getrandbits(8) for _ in range(cnt))
            answer = b.read_ok(data[:cnt])
        else:
            table, off, data = rng.choice(_WRITES)
            body = b.partial_write(table, off, data)
            answer = b.write_ok()
        wire, seal = client.seal(body)
        yield t, EPB_OUTBOUND, wire
        made += 1
        if roll > 0.97:  # lost response, then the identical packet again
            t += 0.5
            yield t, EPB_OUTBOUND, wire
            made += 1
        elif roll > 0.95:  # stale sequence number: 0x0C, resync, resend
            expected = client.sequence + 100
            yield t + 0.03, EPB_INBOUND, b.respond(b.bad_sequence(expected), seal)
            client.resync(expected)
            t += 0.2
            wire, seal = client.seal(body)
            yield t, EPB_OUTBOUND, wire
            made += 2
        yield t + rng.uniform(0.02, 0.08), EPB_INBOUND, b.respond(answer, seal)
        made += 1


def bench_capture(frames: int) -> str:
    """The benchmarks' shared capture, written on first use (bench/decode-N.pcapng)."""
    from pathlib import Path

    path = Path(__file__).with_name(f"decode-{frames}.pcapng")
    if not path.exists():
        n = write_session(str(path), frames)
        print(f"generated {path.name}: {n} frames")
    return str(path)


def write_session(path: str, frames: int, seed: int = 1) -> int:
    """Write a session to pcapng (client line = interface 0, meter line = 1)."""
    with open(path, "wb") as f, PcapngWriter(f) as w:
        ifs = {
            EPB_OUTBOUND: w.add_interface("client", "client module TXD (synthetic)"),
            EPB_INBOUND: w.add_interface("meter", "meter TXD (synthetic)"),
        }
        for t, direction, data in session(frames, seed):
            w.write(ifs[direction], t, data, direction)
        return w.packets
