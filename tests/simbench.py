"""The simulator on a pty pair with clients on the other end: the bench of the client tests.

Its fixture ``bench`` is made available to every test by conftest.py.
"""

from __future__ import annotations

import pytest

from mepshark.capture.ptyline import PtyPair
from mepshark.client.link import Link
from mepshark.client.session import MepClient
from mepshark.dissector.security import Key
from mepshark.sim.meter import Meter
from mepshark.sim.port import SimPort, serve_in_thread
from mepshark.sim.server import MepServer
from mepshark.sim.tapped import demo_keys

MAK, MBK = demo_keys()


class Bench:
    """A simulator thread on a pty pair, and clients on the other end."""

    def __init__(self, animate: bool = False, server=MepServer, **port_kw):
        self.pair = PtyPair()
        self.meter = Meter(animate=animate)
        self.server = server(self.meter, [MAK, MBK], last_sequence=0x1000)
        self.port = SimPort(self.pair.master, self.server, **port_kw)
        self.thread = serve_in_thread(self.port)
        self.links: list[Link] = []

    def client(self, key: Key = MAK, recorder=None, **kw) -> MepClient:
        link = Link(self.pair.device, recorder=recorder)
        self.links.append(link)
        return MepClient(link, key, **kw)

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.port.stop()
        self.thread.join(2)
        self.pair.close()


@pytest.fixture
def bench():
    made: list[Bench] = []

    def make(**kw) -> Bench:
        b = Bench(**kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
