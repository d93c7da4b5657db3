"""The README's first session, run as written: mep-sim with taps, mep-capture, mep-client.

The commands are taken from README.md itself (the block that starts the
simulator with ``--tap``), so the test and the documentation cannot drift
apart.  The session is run unpaced (a pty hands over each write at once),
paced (``--pace``: the simulator sends at the baud rate) and through a
burst-delivering adapter (:class:`BurstRelay`: every lump of bytes arrives
16 ms late, as from a USB adapter's latency timer or a serial server).  In
all three the capture must tell the truth: every response after its
request, everything paired, every digest good with the keys the simulator
holds.  Read back by scapy in context and by tshark with the generated
dissector.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from luadiff import run_tshark
from test_capture_support import BT_9600, Capture, read_scapy

from mepshark.capture.ptyline import BurstRelay, PtyLine
from mepshark.dissector.context import REQUEST, RESPONSE
from mepshark.dissector.link import read_capture
from mepshark.dissector.security import parse_key

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAK_HEX, MBK_HEX = "01" * 16, "02" * 16
"""The keys of ``mep-sim --default-keys``."""
ELLIPSIS = "…"
OUTBOUND = 2


def walkthrough() -> list[str]:
    """The README's lines that start mep-sim with taps, capture the taps, and read BT28 ET03."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = [line.split(" #")[0].strip().removesuffix("&").strip()
                 for line in block.splitlines()]
        want = [
            next((x for x in lines if "mep-sim" in x and "--tap" in x), None),
            next((x for x in lines if "mep-capture" in x and "--meter" in x), None),
            next((x for x in lines if "mep-client" in x and "read BT28 ET03" in x), None),
        ]
        if all(want):
            return want
    raise AssertionError("README.md has no mep-sim --tap / mep-capture / mep-client walkthrough")


def as_command(line: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """A README line as argv and environment: ``/tmp/`` becomes ``tmp``, ``…`` a real key."""
    env = dict(os.environ)
    words = shlex.split(line.replace("/tmp/", f"{tmp}/"))
    while "=" in words[0] and not words[0].startswith(("-", ".", "/")):
        name, value = words.pop(0).split("=", 1)
        if ELLIPSIS in value:  # the README leaves the key out on purpose
            value = {"MEP_MAK": MAK_HEX, "MEP_MBK": MBK_HEX}[name]
        env[name] = value
    # The README runs its commands bare, with the virtual environment active.
    words[0] = str(BIN / words[0].removeprefix(".venv/bin/"))
    return words, env


class Walkthrough:
    """The README session in ``tmp``; ``tap_names`` maps the README's tap names to the sim's."""

    def __init__(self, tmp: Path, pace: bool = False):
        self.tmp = tmp
        sim, cap, cli = walkthrough()
        self.sim, self.sim_env = as_command(sim, tmp)
        self.sim = [w for w in self.sim if w != "--pace"] + (["--pace"] if pace else [])
        self.cap, self.cap_env = as_command(cap, tmp)
        self.cli, self.cli_env = as_command(cli, tmp)
        # The client also records what it sent, and when: the truth the tap is checked against.
        self.sent = [tmp / "client.pcapng", tmp / "client-encrypted.pcapng"]
        i = self.sim.index("--tap")
        self.taps = [Path(p) for p in self.sim[i + 1 : i + 3]]
        self.output = tmp / self.cap[self.cap.index("-w") + 1]

    def retap(self, suffix: str) -> list[tuple[Path, Path]]:
        """Let the simulator mirror onto other names; (sim's tap, name mep-capture opens)."""
        i = self.sim.index("--tap")
        pairs = [(p.with_name(p.name + suffix), p) for p in self.taps]
        self.sim[i + 1 : i + 3] = [str(a) for a, _ in pairs]
        return pairs

    def run(self, between=None) -> Path:
        """Start the simulator, then the capture, run the client, stop both; the pcapng."""
        with ExitStack() as stack:
            sim = subprocess.Popen(self.sim, cwd=self.tmp, env=self.sim_env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            stack.callback(_stop, sim)
            assert sim.stdout.readline().strip(), sim.stderr.read()  # the client's port
            if between is not None:
                between(stack)
            cap = Capture(self.cap[1:], prog=self.cap[:1], env=self.cap_env, cwd=self.tmp)
            stack.callback(cap.stop)
            # As written, then the same read RC4-encrypted with the MBK (both keys set).
            both_keys = dict(self.cli_env, MEP_MBK=MBK_HEX)
            at = self.cli.index("read")
            runs = [(["--pcapng", str(self.sent[0])], self.cli_env),
                    (["--pcapng", str(self.sent[1]), "--use", "MBK", "--encrypt"], both_keys)]
            for extra, env in runs:
                cli = self.cli[:at] + extra + self.cli[at:]
                res = subprocess.run(cli, cwd=self.tmp, env=env, capture_output=True,
                                     text=True, timeout=60)
                assert res.returncode == 0, res.stderr
                assert "BT28" in res.stdout and "ET03" in res.stdout, res.stdout
            assert cap.stop() == 0, cap.stderr
        return self.output


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_scapy(path: Path) -> list:
    """Every frame paired, every response after its request, every digest good."""
    keys = [parse_key(MAK_HEX, "MAK"), parse_key(MBK_HEX, "MBK")]
    infos = read_capture(path, keys)
    requests = [i for i in infos if i.kind == REQUEST]
    responses = [i for i in infos if i.kind == RESPONSE]
    table = [(i.number, i.time, i.summary(), i.expert) for i in infos]
    assert len(requests) >= 3 and len(responses) == len(requests), table
    assert all(i.unframed is None for i in infos), table
    for req in requests:
        assert req.response_in is not None and not req.no_response, table
    for resp in responses:
        assert resp.request_in is not None, table
        assert resp.response_time >= 0, table
        assert resp.digest_status == 1, table  # good: opened with the sim's keys
    sealed = [i for i in infos if i.encrypted]
    assert {i.kind for i in sealed} == {REQUEST, RESPONSE}, table
    assert all(i.key == "MBK" and i.digest_status == 1 for i in sealed), table
    assert any("BT28" in i.summary() for i in sealed if i.kind == RESPONSE), table
    return infos


def check_not_before_sent(path: Path, sent: list[Path]) -> None:
    """No request is stamped before the client wrote it (less the one byte time of the model).

    The client stamps each request as it writes it; the tap can only have
    seen it later.  Both files map the monotonic clock to the wall clock once
    at start; 2 ms cover the two mappings' difference.
    """
    written = [p for f in sent for p in read_scapy(f) if p.direction == OUTBOUND]
    tapped = [p for p in read_scapy(path) if p.direction == OUTBOUND]
    assert [p.data for p in tapped] == [p.data for p in written]
    early = [(round((w.time - t.time) * 1000, 3), t.data[2:3].hex())
             for t, w in zip(tapped, written, strict=True) if t.time < w.time - BT_9600 - 0.002]
    assert not early, f"requests stamped this many ms before the client wrote them: {early}"


def check_tshark(path: Path) -> None:
    """The generated dissector pairs the same frames, with no expert complaint on pairing."""
    keys = [parse_key(MAK_HEX, "MAK"), parse_key(MBK_HEX, "MBK")]
    res = run_tshark(path, keys, ["-T", "fields", "-E", "separator=\t", "-e", "frame.number",
                                  "-e", "mep.request_in", "-e", "mep.response_in", "-e",
                                  "mep.time", "-e", "mep.digest.status", "-e",
                                  "_ws.expert.message", "-e", "mep.encrypted"])
    assert res.returncode == 0 and "Lua" not in res.stderr, res.stderr
    rows = [(row.split("\t") + [""] * 7)[:7] for row in res.stdout.splitlines()]
    assert len(rows) >= 6, res.stdout
    assert sum(row[6] in ("1", "True") for row in rows) >= 2, res.stdout  # RC4, opened
    for _number, request_in, response_in, rtime, digest, expert, _rc4 in rows:
        assert request_in or response_in, res.stdout
        assert digest == "1", res.stdout
        pairing = ("no response" in expert.lower(), "no request" in expert.lower())
        assert pairing == (False, False), res.stdout
        if rtime:
            assert float(rtime) >= 0, res.stdout


@pytest.mark.parametrize("pace", [False, True], ids=["unpaced", "paced"])
def test_readme_walkthrough(tmp_path: Path, pace: bool) -> None:
    """Without --pace and as written (with it): a capture whose times and pairs are right."""
    session = Walkthrough(tmp_path, pace=pace)
    path = session.run()
    check_scapy(path)
    check_not_before_sent(path, session.sent)
    check_tshark(path)


def test_readme_walkthrough_through_burst_delivering_adapters(tmp_path: Path) -> None:
    """Each tap reaches mep-capture through an adapter model that hands bytes over in lumps."""
    session = Walkthrough(tmp_path)
    relays: list[BurstRelay] = []

    def adapters(stack: ExitStack) -> None:
        for sim_tap, name in pairs:
            line = stack.enter_context(closing(PtyLine(name)))
            relays.append(stack.enter_context(BurstRelay(sim_tap, line, hold=0.016)))

    pairs = session.retap("-wire")
    path = session.run(between=adapters)
    assert any(len(b) > 19 for r in relays for b in r.bursts)  # lumps, not a trickle
    check_scapy(path)
    check_not_before_sent(path, session.sent)
    check_tshark(path)

