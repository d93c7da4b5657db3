"""Record a client's own traffic to pcapng, in mep-capture's layout (docs/architecture.md).

An active client is one adapter carrying both directions: one interface
named after the port, each frame an Enhanced Packet Block stamped at its
first byte with the EPB direction (outbound = request, inbound = response
or alert); bytes that form no frame are kept as their own packet with a
comment saying why.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND, UNFRAMED_COMMENT
from mepshark.dissector.deframer import UNFRAMED, Chunk
from mepshark.dissector.frames import BAUD
from mepshark.dissector.security import Key
from mepshark.dissector.tlssecrets import LiveSecrets


class Recorder:
    def __init__(self, path: str, port: str, baud: int = BAUD, application: str = "mep-client",
                 secrets: Iterable[Key] = ()):
        """``secrets``: keys whose TLS sessions' secrets go into the file (a DSB
        before the frames they open), so Wireshark decrypts it with no key set."""
        self.writer = PcapngWriter(open(path, "wb"), application=application)
        keys = list(secrets)
        self.secrets = LiveSecrets(keys) if keys else None
        self.ifid = self.writer.add_interface(
            port, f"active client ({application}): both directions, {baud} 8N1")
        # monotonic -> wall clock, fixed once so that timestamps never jump
        self._offset = time.time() - time.monotonic()

    def wall(self, mono: float) -> float:
        return mono + self._offset

    def _secrets(self, direction: int, frame: bytes) -> None:
        if self.secrets is not None and (text := self.secrets.frame(direction, frame)):
            self.writer.write_secrets(text)

    def sent(self, frame: bytes, mono: float) -> None:
        self._secrets(0, frame)
        self.writer.write(self.ifid, self.wall(mono), frame, EPB_OUTBOUND)

    def received(self, chunk: Chunk) -> None:
        comments = []
        if chunk.kind == UNFRAMED:
            # the marker the dissector reads: such bytes are never taken for a frame
            comments.append(UNFRAMED_COMMENT + chunk.reason)
        else:
            self._secrets(1, chunk.data)
        self.writer.write(self.ifid, self.wall(chunk.time), chunk.data, EPB_INBOUND, comments)

    def close(self) -> None:
        self.writer.close()
