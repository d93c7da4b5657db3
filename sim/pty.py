"""Pseudo-terminal pairs: the simulator holds the master, a client opens the slave.

The simulator keeps the slave open too, so that the master never reads EIO
between two clients; a client should discard stale input when it opens the
port.  ``link`` gives the slave a stable name (a symlink), like a udev rule.
"""

from __future__ import annotations

import fcntl
import os
import tty
from pathlib import Path


class PtyPair:
    def __init__(self, link: str | os.PathLike | None = None):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        flags = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.device = os.ttyname(self.slave)
        self.link = Path(link) if link else None
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(self.device, tmp)
            os.replace(tmp, self.link)

    @property
    def name(self) -> str:
        """What a client opens: the symlink if any, else the slave device."""
        return str(self.link) if self.link is not None else self.device

    def close(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
