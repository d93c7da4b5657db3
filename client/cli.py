"""``mep-client`` entry point: Ctrl-C is one line from the first moment on.

The commands (:mod:`.commands`) import scapy, which takes a few tenths of a
second; this module imports nothing heavy, so a Ctrl-C during that start-up
ends with one line too, never a traceback.  SIGINT and SIGTERM raise
:class:`KeyboardInterrupt` once; further ones are ignored while the port
and the capture file are closed.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence

PROG = "mep-client"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum, frame) -> None:
    for s in _SIGNALS:
        signal.signal(s, signal.SIG_IGN)  # one is enough: let the clean-up finish
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    main_thread = threading.current_thread() is threading.main_thread()
    before = {s: signal.getsignal(s) for s in _SIGNALS} if main_thread else {}
    for s in before:
        signal.signal(s, _interrupt)
    try:
        from .commands import main as run

        return run(argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
