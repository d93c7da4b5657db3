"""``python -m mepshark.capture``: the same as ``mep-capture`` (the extcap launcher uses it)."""

import sys

from .cli import main

sys.exit(main())
