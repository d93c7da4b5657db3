"""ENABLE (MEP pin 2) driven from DTR or RTS, seen by the simulated meter over RFC 2217.

A pty has no modem lines, so these tests put an RFC 2217 server
(:mod:`rfc2217_meter`, pyserial's own server side) in front of the
simulator: the client opens ``rfc2217://…`` and its real DTR/RTS changes
reach the meter's ENABLE input.  The meter ignores requests while ENABLE is
low, and a hung port answers again only after ENABLE was dropped, so a
client that does not drive ENABLE, or does not reset, is seen to fail.
"""

from __future__ import annotations

import pytest
from rfc2217_meter import Rfc2217Meter

from mepshark.capture.ptyline import PtyPair
from mepshark.client import cli as client_cli
from mepshark.client.link import Link, NoResponse
from mepshark.client.session import MepClient
from mepshark.sim.meter import Meter
from mepshark.sim.port import SimPort, serve_in_thread
from mepshark.sim.server import MepServer
from mepshark.sim.tapped import demo_keys

MAK, MBK = demo_keys()
pytestmark = pytest.mark.filterwarnings(  # pyserial 3.5's rfc2217 client thread set-up
    "ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")


class Served:
    """The simulator on a pty pair, reached over RFC 2217 with ENABLE on ``pin``."""

    def __init__(self, pin: str):
        self.pair = PtyPair()
        self.meter = Meter(animate=False)
        self.server = MepServer(self.meter, [MAK, MBK], last_sequence=0x1000)
        self.port = SimPort(self.pair.master, self.server)
        self.thread = serve_in_thread(self.port)
        self.bridge = Rfc2217Meter(self.port, self.pair.slave, pin)
        self.url = self.bridge.url
        self.links: list[Link] = []

    def link(self, **kw) -> Link:
        kw = {"enable": "dtr", "enable_off": 0.1, "enable_settle": 0.1, **kw}
        link = Link(self.url, **kw)
        self.links.append(link)
        return link

    def close(self) -> None:
        for link in self.links:
            if link.ser.is_open:
                link.close()
        self.bridge.close()
        self.port.stop()
        self.thread.join(2)
        self.pair.close()


@pytest.fixture
def served():
    made: list[Served] = []

    def make(pin: str = "dtr") -> Served:
        s = Served(pin)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def mak_env(monkeypatch):
    monkeypatch.setenv("MEP_MAK", MAK.raw.hex())
    monkeypatch.delenv("MEP_MBK", raising=False)


def test_the_meter_ignores_requests_while_enable_is_low(served):
    s = served()
    link = s.link(reset_after=0)
    link.retries = 1
    c = MepClient(link, MAK, sequence=0x1001)
    assert c.read("BT01").values()["manufacturer"] == "EELC"
    link.ser.dtr = False  # ENABLE low: the meter takes no notice of the client
    with pytest.raises(NoResponse):
        c.read("ET03")
    assert s.port.stats["ignored"] == 2 and not s.port.enable
    link.ser.dtr = True
    assert c.read("ET03").values()["utility_serial_number"].startswith("MEPSIM")


@pytest.mark.parametrize("pin", ["dtr", "rts"])
def test_enable_is_raised_while_the_client_runs(served, mak_env, capsys, pin):
    s = served(pin)
    assert client_cli.main(["--port", s.url, "--enable", pin, "--json", "read", "BT01"]) == 0
    assert '"manufacturer": "EELC"' in capsys.readouterr().out
    # low until the port was open, raised for the session, dropped when the client ended
    assert s.bridge.levels(pin) == [False, True, False]
    assert not s.port.enable


def test_a_hung_port_is_reset_by_dropping_enable(served, mak_env, capsys):
    s = served()
    s.port.faults.hang = True
    assert client_cli.main(["--port", s.url, "--enable", "dtr", "--reset-after", "1",
                            "read", "BT01"]) == 0
    out = capsys.readouterr()
    assert "83334-3I" in out.out and out.err == ""
    assert s.port.stats["ignored"] == 4  # the first try and three retries went unheard
    assert s.bridge.levels() == [False, True, False, True, False]
    (t_on, _, _), (t_off, _, _) = [c for c in s.bridge.changes if c[1] == "dtr"][1:3]
    assert t_off - t_on >= 1.0  # not reset before the request had waited --reset-after


def test_without_enable_a_hung_port_stays_silent(served, mak_env, capsys):
    s = served()
    s.port.faults.hang = True
    assert client_cli.main(["--port", s.url, "read", "BT01"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no response" in err and "--enable" in err
    assert s.port.stats["ignored"] == 4 and s.port.stats["responses"] == 0


def test_a_reset_that_does_not_help_is_reported(served):
    s = served()
    link = s.link(reset_after=0.3)
    link.retries = 0
    c = MepClient(link, MAK, sequence=0x1001)
    s.port.faults.drop = 10  # the meter answers nothing, reset or not
    with pytest.raises(NoResponse) as err:
        c.read("BT01")
    assert "2 tries and a port reset (DTR off and on)" in str(err.value)
    assert link.stats["resets"] == 1 and s.bridge.levels() == [False, True, False, True]


def test_enable_on_a_pty_is_one_line(mak_env, capsys, tmp_path):
    pair = PtyPair()
    try:
        pcap = tmp_path / "s.pcapng"
        assert client_cli.main(["--port", pair.device, "--enable", "rts", "-w", str(pcap),
                                "read", "BT01"]) == 1
    finally:
        pair.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mep-client: --enable rts: ")
    assert "cannot drive RTS" in err and "Traceback" not in err
    assert not pcap.exists()
