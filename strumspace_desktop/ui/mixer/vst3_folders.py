"""Where VST3 plugins live, and the bundles found there (listing only: whether a
plugin loads is the engine's business, and it tries that in a child process).

The folders: those named in $VST3_PATH (separated like PATH) first, then the
platform's standard ones. A plugin is a `*.vst3` bundle (a folder on Linux and
macOS, a folder or a single file on Windows); vendors often keep theirs in a
subfolder, so folders are searched a few levels deep, never inside a bundle.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

VST3_PATH_ENV = "VST3_PATH"
MAX_DEPTH = 3  # subfolder levels below a search folder (guards against link loops too)
SUFFIX = ".vst3"


@dataclass(frozen=True, order=True)
class Vst3Plugin:
    name: str  # the bundle's name without ".vst3"
    path: Path


def vst3_folders(environ: Mapping[str, str] | None = None, home: Path | None = None,
                 platform: str | None = None) -> list[Path]:
    """$VST3_PATH's folders, then the standard ones (existing or not), without repeats."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    platform = sys.platform if platform is None else platform
    out = [Path(p).expanduser() for p in env.get(VST3_PATH_ENV, "").split(os.pathsep) if p]
    if platform == "darwin":
        out += [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3")]
    elif platform == "win32":
        common = env.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files")
        out += [Path(common) / "VST3", home / "AppData/Local/Programs/Common/VST3"]
    else:
        out += [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def is_bundle_name(name: str) -> bool:
    """`Name.vst3`; the folder `~/.vst3` itself is no bundle."""
    return name.lower().endswith(SUFFIX) and len(name) > len(SUFFIX)


def _scan(folder: Path, depth: int, found: dict[Path, Vst3Plugin]) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return  # missing or unreadable: nothing there for us
    for entry in entries:
        if is_bundle_name(entry.name):
            try:
                key = entry.resolve()
            except OSError:
                key = entry
            found.setdefault(key, Vst3Plugin(entry.name[: -len(SUFFIX)], entry))
        elif depth < MAX_DEPTH:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                _scan(entry, depth + 1, found)


def find_vst3_plugins(folders: Iterable[Path] | None = None) -> list[Vst3Plugin]:
    """Every VST3 bundle in `folders` (default: vst3_folders()), sorted by name; one
    bundle reached twice (through a link, or two overlapping folders) is listed once."""
    found: dict[Path, Vst3Plugin] = {}
    for folder in vst3_folders() if folders is None else folders:
        _scan(Path(folder), 0, found)
    return sorted(found.values(), key=lambda p: (p.name.lower(), str(p.path)))


def bundle_of(path: Path) -> Path | None:
    """The `.vst3` bundle a chosen path is or lies in (a file dialog lets one pick the
    binary inside a bundle folder); None when it is not part of a VST3 plugin."""
    for candidate in (path, *path.parents):
        if is_bundle_name(candidate.name):
            return candidate
    return None
