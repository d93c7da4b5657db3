"""mep-sim: a MEP server (meter side) on a serial port or a pseudo-terminal.

* :mod:`.meter` - the simulated meter's table images (built with the catalog), animated;
* :mod:`.procedures` - procedures started through BT07, answered in BT08/ET59
  (key rights and procedure images come from the dissector's catalog);
* :mod:`.server` - the protocol engine: keys, sequence window, encryption, errors;
* :mod:`.faults` - deliberate misbehaviour for tests;
* :mod:`.port` - the line: framing, throttling, segmenting, alerts, taps;
* :mod:`.pty` - pseudo-terminal pairs;
* :mod:`.cli` - the ``mep-sim`` command; :mod:`.demo` - ``make demo``.
"""
