"""What is wrong with an audio file, in words a musician can act on (no Qt, no devices).

Shared by the desktop's audio import and the chord analysis runtime (so the command
line and the cloud analysis API too): libsndfile reads a cut file without complaint
and hands back the part that decodes, so a truncated container is found here from
libsndfile's parse log and from the file's own bytes (an Ogg stream's last page, an
MP3's Xing/Info header) before anything is decoded.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any


def damage_of(path: Path, info: Any) -> str | None:
    """Why the file at ``path`` (``info``: its ``soundfile.info``, or the open
    ``SoundFile``, which has the same ``format`` and ``extra_info``) is truncated or
    damaged, or None when its container looks whole."""
    problem = container_problem(info)
    if problem is None and info.format == "OGG":
        problem = ogg_tail_problem(path)
    if problem is None and info.format == "MP3":
        problem = mp3_tail_problem(path)
    return problem


def container_problem(info: Any) -> str | None:
    """What libsndfile's parse log says about a damaged container, if anything."""
    log = info.extra_info or ""
    if info.format in ("WAV", "WAVEX", "RF64", "W64", "AIFF", "CAF"):
        for chunk in ("data", "SSND", "ds64"):
            m = re.search(rf"^\s*{chunk}\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.M)
            if m and int(m.group(2)) < int(m.group(1)):
                return (f"its audio data ends after {int(m.group(2)):,} of the "
                        f"{int(m.group(1)):,} bytes its header announces")
        if "*** Frame count read from" in log:
            return "it holds fewer frames than its header announces"
    if info.format == "OGG" and re.search(r"Corrupted bitstream|reports a hole", log):
        return "its Ogg pages are damaged"
    return None


def ogg_tail_problem(path: Path) -> str | None:
    """An Ogg stream ends with a complete page flagged end-of-stream; a cut file does not."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 70_000))  # the last page is at most 65,307 bytes
        tail = f.read()
    base = size - len(tail)
    at = tail.rfind(b"OggS")
    while at >= 0:
        if len(tail) - at >= 27:
            nsegs = tail[at + 26]
            if len(tail) - at >= 27 + nsegs:
                page_end = at + 27 + nsegs + sum(tail[at + 27:at + 27 + nsegs])
                if page_end > len(tail):
                    return f"its last Ogg page is cut off at byte {size:,}"
                if not tail[at + 5] & 0x04:
                    return "its Ogg stream stops before its end-of-stream page"
                return None
        at = tail.rfind(b"OggS", 0, at)  # a capture pattern cut in half: look further back
    return "no complete Ogg page found at its end" if base == 0 and size else None


def mp3_tail_problem(path: Path) -> str | None:
    """A Xing/Info header (LAME and most encoders write one) names the stream's byte size;
    a file much shorter than that was cut (libmpg123 would pad the rest with silence)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(65536)
        f.seek(max(0, size - 128))
        id3v1 = f.read(3) == b"TAG"
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        tag_size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        start = 10 + tag_size + (10 if head[5] & 0x10 else 0)
        with open(path, "rb") as f:
            f.seek(start)
            head = f.read(4096)
    else:
        head = head[:4096]
    for i in range(max(0, len(head) - 4)):
        if head[i] == 0xFF and head[i + 1] & 0xE0 == 0xE0:
            mpeg1 = (head[i + 1] >> 3) & 0x03 == 0x03
            mono = (head[i + 3] >> 6) == 0x03
            side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
            tag = i + 4 + side
            if head[tag:tag + 4] not in (b"Xing", b"Info"):
                return None
            flags = struct.unpack(">I", head[tag + 4:tag + 8])[0]
            pos = tag + 8 + (4 if flags & 1 else 0)
            if not flags & 2 or len(head) < pos + 4:
                return None
            declared = struct.unpack(">I", head[pos:pos + 4])[0]
            actual = size - start - i - (128 if id3v1 else 0)
            if declared and actual < declared * 0.99:
                return (f"it holds {actual:,} of the {declared:,} bytes of MPEG audio its "
                        "header announces")
            return None
    return None


def describe_error(exc: BaseException) -> str:
    """libsndfile's reason without its "Error opening 'path':" prefix. For a file that
    is there but whose bytes it does not recognise, libsndfile 1.2 says "File does not
    exist or is not a regular file": the callers have checked the file exists, so that
    is said as what it means."""
    text = str(exc).strip()
    text = re.sub(r"^Error opening .*?: ", "", text)
    text = re.sub(r"^Error\s*:\s*", "", text)  # libsndfile's decoder errors: "Error : ..."
    if text.startswith("File does not exist or is not a regular file"):
        return "its contents are not in an audio format libsndfile recognises"
    return text or type(exc).__name__
