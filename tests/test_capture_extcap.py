"""mep-capture as a Wireshark extcap: the protocol's answers, installation, a tshark capture."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from test_capture_support import MEP_CAPTURE, frames_session, read_tshark

from mepshark.capture import extcap
from mepshark.capture.ptyline import PtyLine

SENTENCE = re.compile(r"^(extcap|interface|dlt|arg|value) (\{[a-z]+=[^{}]*\})+$")


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(MEP_CAPTURE + args, capture_output=True, text=True, timeout=30, **kw)


def fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"\{([a-z]+)=([^{}]*)\}", line))


def test_extcap_answers() -> None:
    res = run(["--extcap-interfaces", "--extcap-version=4.0"])
    assert res.returncode == 0, res.stderr
    rows = res.stdout.splitlines()
    assert all(SENTENCE.match(r) for r in rows), rows
    assert fields(rows[1]) == {"value": "mep", "display": "MEP serial tap"}

    res = run(["--extcap-dlts", "--extcap-interface", "mep"])
    assert res.returncode == 0 and fields(res.stdout)["number"] == "147"

    res = run(["--extcap-config", "--extcap-interface", "mep"])
    assert res.returncode == 0, res.stderr
    assert all(SENTENCE.match(r) for r in res.stdout.splitlines())

    res = run(["--extcap-dlts", "--extcap-interface", "eth0"])
    assert res.returncode == 1 and "offers 'mep'" in res.stderr

    res = run(["--extcap-capture-filter", "port 80", "--extcap-interface", "mep"])
    assert res.returncode == 0 and "no capture filter" in res.stdout
    res = run(["--extcap-capture-filter", "", "--extcap-interface", "mep"])
    assert res.returncode == 0 and res.stdout == ""


def test_extcap_config_lists_ports_sides_baud() -> None:
    text = extcap.config_text([("/dev/ttyUSB0", "FT232R USB UART"), ("/dev/ttyUSB1", "")])
    rows = [fields(r) for r in text.splitlines()]
    args = {r["number"]: r for r in rows if "call" in r}
    calls = [a["call"] for a in args.values()]
    assert calls == ["--port", "--port-path", "--side", "--port2", "--port2-path", "--side2",
                     "--baud", "--bytesize", "--parity", "--stopbits", "--dlt"]
    # Wireshark 4.0 knows no editselector: only types it accepts
    assert {a["type"] for a in args.values()} <= {"selector", "string", "radio", "integer"}
    values: dict[str, list[dict]] = {}
    for r in rows:
        if "arg" in r:
            assert r["arg"] in args
            values.setdefault(args[r["arg"]]["call"], []).append(r)

    def listed(call: str) -> list[str]:
        return [v["value"] for v in values[call]]

    def default(call: str) -> str:
        (d,) = [v["value"] for v in values[call] if v.get("default") == "true"]
        return d

    assert listed("--port") == ["/dev/ttyUSB0", "/dev/ttyUSB1"]
    assert values["--port"][0]["display"] == "/dev/ttyUSB0 (FT232R USB UART)"
    assert listed("--port2") == ["none", "/dev/ttyUSB0", "/dev/ttyUSB1"]
    assert (default("--port"), default("--port2")) == ("/dev/ttyUSB0", "none")
    assert listed("--side") == ["meter", "client", "unknown"] == listed("--side2")
    assert (default("--side"), default("--side2")) == ("meter", "client")
    assert "115200" in listed("--baud") and "300" in listed("--baud")
    assert default("--baud") == "9600"
    assert "(no serial port found" in extcap.config_text([])


def test_install_and_capture_through_tshark(tmp_path: Path) -> None:
    """--install-extcap, then tshark lists "MEP serial tap" and captures through it."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    env.pop("XDG_CONFIG_HOME", None)
    res = run(["--install-extcap"], env=env)
    assert res.returncode == 0, res.stderr
    version = extcap.wireshark_version()
    assert version is not None  # tshark is installed (make test installs it)
    sub = ".config/wireshark/extcap" if version < (4, 1) else ".local/lib/wireshark/extcap"
    launcher = home / sub / "mep-capture"
    assert launcher.exists() and os.access(launcher, os.X_OK)
    assert str(launcher) in res.stdout

    listing = subprocess.run(["tshark", "-D"], capture_output=True, text=True, env=env,
                             timeout=60)
    assert re.search(r"^\d+\. mep \(MEP serial tap\)$", listing.stdout, re.M), listing.stdout
    assert "invalid" not in listing.stderr  # every config sentence is understood

    meter, client = PtyLine(tmp_path / "m"), PtyLine(tmp_path / "c")
    out = tmp_path / "x.pcapng"
    shark = subprocess.Popen(
        ["tshark", "-i", "mep", "-o", f"extcap.mep.portpath:{meter.path}",
         "-o", "extcap.mep.side:meter", "-o", f"extcap.mep.port2path:{client.path}",
         "-o", "extcap.mep.side2:client", "-o", "extcap.mep.baud:115200",
         "-a", "duration:4", "-w", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for line in (meter, client):
            wait_opened(line.device, 15)
        time.sleep(0.3)
        f = frames_session()
        client.write(f["req1"])
        time.sleep(0.05)
        meter.write(f["resp1"])
        time.sleep(0.05)
        meter.write(f["alert"])
        _, err = shark.communicate(timeout=30)
    finally:
        if shark.poll() is None:
            shark.kill()
        meter.close()
        client.close()
    assert shark.returncode == 0, err
    pkts = read_tshark(out, home)
    assert [(p.ifname, p.direction, p.data) for p in pkts] == [
        (str(client.path), 2, f["req1"]),
        (str(meter.path), 1, f["resp1"]),
        (str(meter.path), 1, f["alert"]),
    ]
    assert pkts[0].desc == "client TXD (requests), 115200 8N1"


def test_extcap_errors_reach_wireshark(tmp_path: Path) -> None:
    """A capture that cannot start ends at once, with its reason shown by tshark."""
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home))
    env.pop("XDG_CONFIG_HOME", None)
    assert run(["--install-extcap"], env=env).returncode == 0
    for extra, text in (([], "no serial port chosen"),
                        (["-o", f"extcap.mep.portpath:{tmp_path / 'gone'}"],
                         "No such file or directory")):
        res = subprocess.run(["tshark", "-i", "mep", "-a", "duration:20", *extra,
                              "-w", str(tmp_path / "e.pcapng")],
                             env=env, capture_output=True, text=True, timeout=30)
        assert text in res.stderr, res.stderr


def wait_opened(device: str, timeout: float) -> None:
    """Wait until some process has ``device`` open (the extcap is started by tshark)."""
    me = os.getpid()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if int(pid) == me:
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == device:
                        return
                except OSError:
                    continue
        time.sleep(0.05)
    raise AssertionError(f"nobody opened {device}")
