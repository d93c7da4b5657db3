"""``mep-dissector decode``, run as a user runs it: the installed console script.

Every test starts the real executable in a subprocess (next to the running
interpreter, so any virtual environment works) with a clean environment:
the CLI's contract is its exit status, its stdout and its stderr, and keys
reach it through the environment, a key file or options, never the output.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mepshark.capture.pcapng import PcapngWriter
from mepshark.dissector import builders as b
from mepshark.dissector.capture_format import EPB_INBOUND, EPB_OUTBOUND
from mepshark.dissector.examples import EXAMPLES, GUIDE_KEY_HEX
from mepshark.dissector.security import parse_key

ROOT = Path(__file__).resolve().parents[1]
SPEC_PCAP = ROOT / "pcaps" / "spec-examples.pcapng"
N_FRAMES = len(EXAMPLES)
"""Frames in spec-examples.pcapng: one per guide example message."""
CLI = Path(sys.executable).parent / "mep-dissector"

GUIDE_KEY = bytes.fromhex(GUIDE_KEY_HEX)
FRAME_7 = "Request: Partial Table Read BT23 Current Register Data off=0 cnt=44 seq=0x01020304"
FRAME_10 = "Response: OK cnt=44 (BT23 Current Register Data) [request in 9, 45 ms]"
RC4_FRAMES = range(7, 13)
"""The guide's RC4 examples 1 and 2, made with the guide key."""
APPENDIX_REQUEST = 13
"""Appendix A/B request: its key is not in the guide, so its digest cannot verify."""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the console script; the parent's MEP_* keys never leak in."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MEP_")}
    full_env.update(env or {})
    return subprocess.run(
        [str(CLI), *map(str, args)], capture_output=True, text=True, env=full_env, timeout=60
    )


def decode(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    res = run("decode", *args, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    return res


def summaries(stdout: str) -> list[tuple[int, str]]:
    """(number, line) of every summary line (the unindented ones), in order."""
    return [(int(ln[:5]), ln) for ln in stdout.splitlines() if re.match(r" *\d+ ", ln[:6])]


def frame_lines(stdout: str) -> dict[int, str]:
    """Summary lines by number, for captures with one frame per record."""
    found = summaries(stdout)
    lines = dict(found)
    assert len(lines) == len(found), "a number is used twice"
    return lines


def frame_blocks(stdout: str) -> dict[int, str]:
    """-V output: each frame's summary line and its indented detail, by frame number."""
    blocks: dict[int, list[str]] = {}
    for ln in stdout.splitlines():
        if re.match(r" *\d+ ", ln[:6]):
            current = blocks.setdefault(int(ln[:5]), [])
        current.append(ln)
    return {n: "\n".join(lines) for n, lines in blocks.items()}


def key_renderings(key: bytes) -> list[str]:
    """Ways a key could show up in text: hex in several spellings, repr, ASCII."""
    forms = [key.hex(), key.hex().upper(), key.hex(" "), key.hex(":"), repr(key)[2:-1]]
    if key.isascii() and key.decode().isprintable():
        forms.append(key.decode())
    return forms


def assert_no_key(text: str, key: bytes) -> None:
    for form in key_renderings(key):
        assert form not in text, f"key material leaked as {form!r}"


@pytest.fixture(scope="module")
def with_key() -> subprocess.CompletedProcess:
    return decode(SPEC_PCAP, env={"MEP_MAK": GUIDE_KEY_HEX})


@pytest.fixture(scope="module")
def with_key_verbose() -> subprocess.CompletedProcess:
    return decode("-V", SPEC_PCAP, env={"MEP_MAK": GUIDE_KEY_HEX})


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "keys"
    path.write_text(f"# the MEP guide's example key\nMAK={GUIDE_KEY_HEX}\n")
    return path


# --- the guide's examples ----------------------------------------------------------


def test_spec_examples_with_the_guide_key(with_key):
    """The demo: pairing, retries and digests on the guide's examples."""
    lines = frame_lines(with_key.stdout)
    assert len(with_key.stdout.splitlines()) == N_FRAMES
    assert sorted(lines) == list(range(1, N_FRAMES + 1))
    assert FRAME_7 in lines[7]
    assert "[retransmission of 7]" in lines[9]
    assert FRAME_10 in lines[10]
    assert "[bad digest]" in lines[APPENDIX_REQUEST]
    bad = [n for n, ln in lines.items() if "[bad digest]" in ln]
    assert bad == [APPENDIX_REQUEST], "only the Appendix A/B request has an unknown key"
    assert not any("[malformed]" in ln for ln in lines.values())


def test_spec_examples_without_a_key(with_key):
    """Without keys nothing can be verified, so nothing is called bad; pairing still works."""
    res = decode(SPEC_PCAP)
    assert "[bad digest]" not in res.stdout
    lines = frame_lines(res.stdout)
    assert len(lines) == N_FRAMES
    assert FRAME_7 in lines[7]
    assert "[retransmission of 7]" in lines[9]
    assert FRAME_10 in lines[10]
    # Apart from the digest verdict and the TLS example's application data (frames 5
    # and 6, opened by the key), the lines are those decoded with a key.
    keyed = frame_lines(with_key.stdout.replace(" [bad digest]", ""))
    assert {n: ln for n, ln in lines.items() if n not in (5, 6)} == {
        n: ln for n, ln in keyed.items() if n not in (5, 6)}
    assert "TLS Table [Application Data]" in lines[5]
    assert "TLS Table: Partial Table Read ET70 RAM Only Status off=142 cnt=1" in keyed[5]


def test_verbose_shows_digest_status_and_scapy_fields(with_key_verbose):
    blocks = frame_blocks(with_key_verbose.stdout)
    assert sorted(blocks) == list(range(1, N_FRAMES + 1))
    for n in RC4_FRAMES:
        assert "digest: Good (MAK)" in blocks[n], n
    assert "digest: Bad" in blocks[APPENDIX_REQUEST]
    for n in range(1, 7):  # TLS: no RC4 digest to check
        assert "digest:" not in blocks[n]
    frame7 = blocks[7]
    assert "###[ MEP Partial Table Read ]###" in frame7
    assert re.search(r"request_code\s*= Partial Table Read", frame7)
    assert re.search(r"table_id\s*= BT23 Current Register Data \(0x0017\)", frame7)
    assert re.search(r"count\s*= 44", frame7)
    assert re.search(r"digest\s*= 74861f6d7658dd56", frame7)
    assert "arrival 2022-03-01T12:00:01.200000+00:00" in frame7
    assert "expert: Error response: Invalid sequence number" in blocks[8]


# --- keys ---------------------------------------------------------------------------


def test_key_file_works_like_the_environment(key_file, with_key, with_key_verbose):
    assert decode("--key-file", key_file, SPEC_PCAP).stdout == with_key.stdout
    assert decode("-V", "--key-file", key_file, SPEC_PCAP).stdout == with_key_verbose.stdout
    assert decode("--mak", GUIDE_KEY_HEX, SPEC_PCAP).stdout == with_key.stdout


def test_option_overrides_environment():
    """--mak wins over MEP_MAK: a wrong key on the command line makes frame 7 bad."""
    res = decode("--mak", "ff" * 16, SPEC_PCAP, env={"MEP_MAK": GUIDE_KEY_HEX})
    assert "[bad digest]" in frame_lines(res.stdout)[7]


def test_keys_never_appear_in_the_output(key_file, with_key, with_key_verbose):
    """Keys are secrets: no rendering of the key bytes may reach stdout or stderr."""
    verbose_file = decode("-V", "--key-file", key_file, SPEC_PCAP)
    for res in (with_key, with_key_verbose, verbose_file):
        assert_no_key(res.stdout + res.stderr, GUIDE_KEY)


def test_ascii_keys_never_appear_in_the_output(tmp_path):
    """A printable key is the easiest to leak; both key names, -V output."""
    mak, mbk = b"SecretMakSecret!", b"OtherMbkPassword"
    path = tmp_path / "keys"
    path.write_text(f"MAK=ascii:{mak.decode()}\nMBK={mbk.decode()}\n")
    res = decode("-V", "--key-file", path, SPEC_PCAP)
    assert_no_key(res.stdout, mak)
    assert_no_key(res.stdout, mbk)


def test_keys_from_environment_and_file_combine(tmp_path):
    """MBK from the environment and MAK from a file: both verify in one capture.

    The synthetic session (bench/traffic.py) signs requests with either key.
    """
    spec = importlib.util.spec_from_file_location("traffic", ROOT / "bench" / "traffic.py")
    traffic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(traffic)
    pcap = tmp_path / "session.pcapng"
    traffic.write_session(str(pcap), 120, seed=5)
    mak, mbk = traffic.MAK.raw.hex(), traffic.MBK.raw.hex()
    path = tmp_path / "keys"
    path.write_text(f"MAK={mak}\n")

    only_mak = decode("--key-file", path, pcap)
    assert "[bad digest]" in only_mak.stdout  # the MBK-signed requests
    both = decode("-V", "--key-file", path, pcap, env={"MEP_MBK": mbk})
    assert "[bad digest]" not in both.stdout
    assert "digest: Good (MAK)" in both.stdout
    assert "digest: Good (MBK)" in both.stdout
    assert_no_key(both.stdout, traffic.MAK.raw)
    assert_no_key(both.stdout, traffic.MBK.raw)


# --- errors ---------------------------------------------------------------------------


def assert_one_error_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(("mep-dissector:", "mep-client:", "mep-sim:"))
    return lines[0]


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.pcapng"
    line = assert_one_error_line(run("decode", missing))
    assert str(missing) in line


def test_not_a_capture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a capture\n")
    assert_one_error_line(run("decode", path))


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--mak", "short"], "--mak: 5 characters"),
        (["--mbk", "hex:0102"], "--mbk: 4 hex digits"),
        (["--mak", "hex:zz"], "--mak: 'z' (position 5) is not a hex digit"),
        (["--mak", "O" + GUIDE_KEY_HEX[1:]], "--mak: 'O' (position 1) is not a hex digit"),
        (["--mak", GUIDE_KEY_HEX[:-1]], "--mak: 31 hex digits"),
    ],
)
def test_malformed_key(args, expect):
    line = assert_one_error_line(run("decode", *args, SPEC_PCAP))
    assert "bad key" in line
    assert expect in line


def test_malformed_key_in_environment():
    line = assert_one_error_line(run("decode", SPEC_PCAP, env={"MEP_MBK": "too short"}))
    assert "MBK" in line


@pytest.mark.parametrize(
    "content", ["MAK SecretWithoutEquals\n", "KEY=SecretUnknownName1\n", "MAK=hex:SecretNotHex\n"]
)
def test_malformed_key_file_does_not_echo_the_secret(tmp_path, content):
    path = tmp_path / "keys"
    path.write_text(content)
    line = assert_one_error_line(run("decode", "--key-file", path, SPEC_PCAP))
    assert "Secret" not in line


def test_missing_key_file(tmp_path):
    assert_one_error_line(run("decode", "--key-file", tmp_path / "nokeys", SPEC_PCAP))


def test_non_user_dlt_is_a_clean_error():
    line = assert_one_error_line(run("decode", "--dlt", "146", SPEC_PCAP))
    assert "147..162" in line


# --- damaged and hostile input ---------------------------------------------------------

# Records every decoder meets sooner or later, then random bytes.
MALFORMED = [
    (b"\x00\x14\x3f\x00", EPB_OUTBOUND),  # request cut after 2 of 20 body bytes
    (b"\xff\xff\x00\x01", EPB_INBOUND),  # length beyond the 476-byte maximum
    (b"\x05", None),  # not even a length field
    (b"\x00\x03\x3f\x00\x17", EPB_OUTBOUND),  # body too short for its code
    (b"\x00\x02\x00\x00", EPB_INBOUND),  # response too short for a digest
]


@pytest.fixture(scope="module")
def garbage_pcap(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("garbage") / "garbage.pcapng"
    rng = random.Random(20240301)
    with open(path, "wb") as f, PcapngWriter(f) as w:
        ifs = {EPB_OUTBOUND: w.add_interface("client"), EPB_INBOUND: w.add_interface("meter")}
        ifs[None] = ifs[EPB_INBOUND]
        t = 1_700_000_000.0
        for data, direction in MALFORMED:
            t += 0.2
            w.write(ifs[direction], t, data, direction)
        for _ in range(200):
            t += rng.uniform(0.0, 0.6)
            data = rng.randbytes(rng.choice([1, 2, 3, 11, 22, rng.randrange(0, 600)]))
            if rng.random() < 0.5 and len(data) > 2:  # a consistent length, random body
                data = (len(data) - 2).to_bytes(2, "big") + data[2:]
            if rng.random() < 0.2:  # several frames in one record: an alert first
                data = b"\x00\x00" + data
            direction = rng.choice([EPB_INBOUND, EPB_OUTBOUND, None])
            w.write(ifs[direction], t, data, direction)
    return path


@pytest.mark.parametrize(
    "args",
    [[], ["-V"], ["-V", "--mak", GUIDE_KEY_HEX, "--mbk", "ascii:0123456789abcdef"]],
    ids=["plain", "verbose", "verbose-keys"],
)
def test_garbage_decodes_without_traceback(garbage_pcap, args):
    """Random records never crash the decoder; broken frames are labelled."""
    res = decode(*args, garbage_pcap)  # exit 0 and an empty stderr
    found = summaries(res.stdout)
    # One record may chain several frames, so there are at least as many lines;
    # whether they are numbered by frame or by record, numbers never go down.
    records = 200 + len(MALFORMED)
    assert len(found) >= records
    numbers = [n for n, _ in found]
    assert numbers[0] == 1 and numbers == sorted(numbers)
    assert numbers[-1] >= records
    for n, (number, line) in enumerate(found[: len(MALFORMED)], 1):
        assert number == n
        assert line.endswith("[malformed]"), line
    if "-V" in args:
        assert "malformed: truncated: 2 of 20 body bytes present" in res.stdout
        assert "malformed: length 65535 exceeds the maximum body of 476 bytes" in res.stdout


def test_empty_record_is_malformed(tmp_path):
    path = tmp_path / "empty.pcapng"
    with open(path, "wb") as f, PcapngWriter(f) as w:
        w.write(w.add_interface("client"), 1.0, b"", EPB_OUTBOUND)
    assert frame_lines(decode(path).stdout)[1].endswith("[malformed]")


def test_capture_cut_mid_block_still_decodes(tmp_path):
    """A capture killed mid-write (last block cut short) decodes up to its last whole frame."""
    data = SPEC_PCAP.read_bytes()
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[:-7])
    res = run("decode", "--mak", GUIDE_KEY_HEX, path)
    assert res.returncode == 0
    assert "Traceback" not in res.stderr
    lines = frame_lines(res.stdout)
    assert sorted(lines) == list(range(1, N_FRAMES))
    assert "[no response]" in lines[N_FRAMES - 1]


def _encrypted_request_starting_with(first_bytes: range) -> tuple[bytes, bytes]:
    """An RC4-encrypted BT23 read whose ciphertext begins with one of ``first_bytes``."""
    key = parse_key(GUIDE_KEY_HEX)
    for seq in range(0x100, 0x10000):
        client = b.Requester(key, seq, encrypt=True)
        wire, seal = client.seal(b.partial_read(23, 0, 44))
        if wire[2] in first_bytes:
            return wire, b.respond(b.read_ok(bytes(range(44))), seal)
    raise AssertionError("no such sequence number")


def test_encrypted_request_whose_ciphertext_looks_like_a_response(tmp_path):
    wire, answer = _encrypted_request_starting_with(range(0x00, 0x0D))
    path = tmp_path / "enc.pcapng"
    with open(path, "wb") as f, PcapngWriter(f) as w:
        w.write(w.add_interface("client"), 1.0, wire, EPB_OUTBOUND)
        w.write(w.add_interface("meter"), 1.05, answer, EPB_INBOUND)
    lines = frame_lines(decode("--mak", GUIDE_KEY_HEX, path).stdout)
    assert "Partial Table Read BT23" in lines[1]
    assert "[encrypted]" in lines[1]
    assert "Response: OK cnt=44" in lines[2]
    assert "[malformed]" not in lines[1] + lines[2]


def test_keys_written_in_the_docs_are_keys():
    """Every MEP_MAK=/MEP_MBK=/mep.mak: value in README.md and docs/*.md, and the example
    column of the forms table, is read as a key (the README once had MEP_MAK=… there)."""
    from mepshark.dissector.security import key_problem

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    texts = "".join(p.read_text(encoding="utf-8") for p in pages)
    values = re.findall(r"(?:MEP_MAK|MEP_MBK|mep\.mak|mep\.mbk)[=:]([^\s\"'`]+)", texts)
    forms = (ROOT / "docs/keys.md").read_text(encoding="utf-8")
    values += re.findall(r"^\| [^|]+ \| `([^`]+)` \|$", forms, re.M)
    assert len(values) >= 7
    for value in values:
        assert key_problem(value)[1] is None, value


@pytest.mark.parametrize(
    "argv",
    [
        ["mep-dissector", "decode", str(SPEC_PCAP)],
        ["mep-client", "--port", "/nonexistent/tty", "read", "BT28"],
        ["mep-sim", "--pty"],
    ],
    ids=["mep-dissector", "mep-client", "mep-sim"],
)
@pytest.mark.parametrize(
    ("value", "problem"),
    [("\u2026", "MEP_MAK: character 1 is not printable ASCII"),
     ("O" + GUIDE_KEY_HEX[1:], "MEP_MAK: 'O' (position 1) is not a hex digit"),
     (GUIDE_KEY_HEX[:-1], "MEP_MAK: 31 hex digits")],
    ids=["ellipsis", "letter O", "31 digits"],
)
def test_every_cli_refuses_a_malformed_key_in_one_line(argv, value, problem):
    """MEP_MAK=… typed as written, a letter O, a digit short: one line naming the problem,
    no codec error, no traceback, exit 2, and no key made up from the text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEP_")}
    env["MEP_MAK"] = value
    res = subprocess.run([str(CLI.with_name(argv[0])), *argv[1:]], capture_output=True,
                         text=True, env=env, timeout=60)
    line = assert_one_error_line(res)
    assert problem in line and "codec" not in line
    assert res.returncode == 2
