"""Put the helper modules the tests import on sys.path, in every import mode:
this folder's (``catalogutil``, ``luadiff``, ``test_frames``), bench/'s
(``traffic``) and pcaps/'s (``make_use_cases``)."""

import sys
from pathlib import Path

_ROOT = Path(__file__).parent.parent
for _folder in (_ROOT / "pcaps", _ROOT / "bench", _ROOT / "tests"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
