"""The Wireshark on this machine: versions, Lua plugin folders, and whose Lua runs.

Wireshark reads Lua plugins from a global folder, then a personal one, then
``-X lua_script:`` files.  Since 4.4 it runs neither personal plugins nor
``-X`` scripts when started with special privileges (as root): silently, only
the global folder is read.  Older releases leave that to the global init.lua
(Debian's allows it).  ``mep-dissector install``/``check`` and the tests decide
by running tshark, not by guessing from the version alone.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .luagen import LOADED_MARK

PROBE_PROTOCOL = "mepshark_probe"
ROOT_RUNS_NO_USER_LUA = (4, 4)
"""The first release that runs no personal or ``-X`` Lua script for root."""


class TsharkError(Exception):
    """tshark is missing or did not answer; the message says which."""


@dataclass(frozen=True)
class Tshark:
    """One tshark executable and what it says about itself."""

    path: str
    version: tuple[int, ...]
    lua: str | None  # "5.4.7"; None: built without Lua
    folders: dict[str, str] = field(default_factory=dict)  # tshark -G folders

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def personal_lua(self) -> Path:
        return Path(self.folders.get("Personal Lua Plugins")
                    or Path.home() / ".local" / "lib" / "wireshark" / "plugins")

    @property
    def global_lua(self) -> Path | None:
        text = self.folders.get("Global Lua Plugins")
        return Path(text) if text else None


def _run(args: list[str], env: dict | None = None, timeout: float = 60) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TsharkError(f"{args[0]}: {exc}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise TsharkError(f"{' '.join(args[:3])}: exit {proc.returncode}: {last}")
    return proc.stdout


def find_tshark(path: str | None = None, env: dict | None = None) -> Tshark:
    """tshark from ``path`` or PATH, its Wireshark and Lua versions and its folders."""
    exe = path or shutil.which("tshark")
    if not exe:
        raise TsharkError("tshark not found (Debian: apt install tshark)")
    text = " ".join(_run([exe, "-v"], env).split())  # -v wraps its lines
    m = re.search(r"\(Wireshark\) (\d+)\.(\d+)\.(\d+)", text) or re.search(
        r"(\d+)\.(\d+)\.(\d+)", text)
    if not m:
        raise TsharkError(f"{exe} -v: no version in its answer")
    lua = re.search(r"(?<!without )Lua (\d+\.\d+(?:\.\d+)?)", text)
    folders = {}
    for line in _run([exe, "-G", "folders"], env).splitlines():
        name, sep, value = line.partition(":")
        if sep and value.strip():
            folders.setdefault(name.strip(), value.strip())
    return Tshark(exe, tuple(int(g) for g in m.groups()), lua.group(1) if lua else None, folders)


def privileged() -> bool:
    """Whether Wireshark counts this process as started with special privileges."""
    if not hasattr(os, "geteuid"):
        return False
    ruid, euid, rgid, egid = os.getuid(), os.geteuid(), os.getgid(), os.getegid()
    return ruid != euid or rgid != egid or ruid == 0 or rgid == 0


def runs_user_lua(tshark: Tshark, prefix: list[str] = (), env: dict | None = None) -> bool:
    """Whether tshark, started as ``prefix + [tshark]``, runs a ``-X lua_script:`` file
    (and so the personal plugin folder): it is asked to load a probe protocol."""
    folder = tempfile.mkdtemp(prefix="mepshark-probe-")
    try:
        os.chmod(folder, 0o755)  # readable for a prefix that drops privileges
        probe = Path(folder) / "probe.lua"
        probe.write_text(f'Proto("{PROBE_PROTOCOL}", "mepshark Lua probe")\n')
        probe.chmod(0o644)
        out = _run([*prefix, tshark.path, "-G", "protocols", "-X", f"lua_script:{probe}"], env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return any(line.split("\t")[2:3] == [PROBE_PROTOCOL] for line in out.splitlines())


def unprivileged_prefix(tshark: Tshark, env: dict | None = None) -> list[str]:
    """How to start ``tshark`` so that its ``-X lua_script:`` runs: [] when it does for
    this user, else (root on Wireshark 4.4+) a setpriv prefix that runs it as
    ``nobody``, whose input files must then be readable by all.  Raises
    :class:`TsharkError` when neither way runs Lua.

    Nothing is installed: an install into the global plugin folder would change
    Wireshark for every user of the machine.
    """
    if runs_user_lua(tshark, env=env):
        return []
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        raise TsharkError(f"{tshark.path} runs no -X lua_script: for this user")
    nobody = pwd.getpwnam("nobody")
    prefix = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
              "--clear-groups", "--"]
    if not runs_user_lua(tshark, prefix, env):
        raise TsharkError(f"{tshark.path} runs no -X lua_script: as root, nor as nobody")
    return prefix


def expected_user_lua(tshark: Tshark) -> bool:
    """What the rule says without running tshark: no user Lua for root from 4.4 on."""
    return not (privileged() and tshark.version >= ROOT_RUNS_NO_USER_LUA)


def loaded_lua_plugins(tshark: Tshark, env: dict | None = None) -> list[Path]:
    """The Lua plugin files tshark reads from its folders, in load order."""
    out = []
    for line in _run([tshark.path, "-G", "plugins"], env).splitlines():
        cols = line.split("\t")
        if len(cols) >= 4 and cols[2].strip() == "lua script":
            out.append(Path(cols[3].strip()))
    return out


@dataclass(frozen=True)
class Copy:
    """A file in a Lua plugin folder that registers the MEP protocol."""

    path: Path
    guarded: bool  # steps aside when another copy is loaded first (newer mepshark)
    current: bool  # the same text as this mepshark's mep.lua


def mep_copies(folders: list[Path], packaged: str) -> list[Copy]:
    """Every MEP dissector in ``folders`` (and their subfolders), in the order given."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.lua")):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if re.search(r'Proto\(\s*"mep"\s*,', text):
                found.append(Copy(path, LOADED_MARK in text, text == packaged))
    return found


def protocol_registered(tshark: Tshark, abbrev: str = "mep", env: dict | None = None) -> bool:
    """Whether tshark, as it starts for this user, has the protocol ``abbrev``."""
    out = _run([tshark.path, "-G", "protocols"], env)
    return any(line.split("\t")[2:3] == [abbrev] for line in out.splitlines())
