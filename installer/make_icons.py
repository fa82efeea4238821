"""Draw the StrumSpace app icon with QPainter and write the files Briefcase wants.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m installer.make_icons``

Writes resources/icons/strumspace-<size>.png for every size the Linux and
Flatpak templates ask for, plus strumspace.ico (Windows) and strumspace.icns
(macOS). Each size is drawn as vectors rather than scaled down, so the small
sizes stay crisp. The outputs are committed; rerun only when the design changes.
"""

from __future__ import annotations

import argparse
import os
import struct
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
ICON_NAME = "strumspace"
PNG_SIZES = (16, 32, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 32, 48, 64, 256)
# ICNS element types holding PNG data, by pixel size (several sizes share a type's pixels).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"icp6", 64),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),
    (b"ic09", 512),
    (b"ic14", 512),
    (b"ic10", 1024),
)


def draw_icon(size: int) -> QImage:
    """A guitar pick over guitar strings on a dark rounded square."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 100.0, size / 100.0)  # draw in a 100 x 100 box

    background = QLinearGradient(0, 0, 0, 100)
    background.setColorAt(0.0, QColor("#2c3450"))
    background.setColorAt(1.0, QColor("#141824"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(background))
    p.drawRoundedRect(QRectF(4, 4, 92, 92), 20, 20)

    # Strings: thicker at the bottom like a real guitar; fewer lines at tiny sizes.
    strings = 3 if size >= 32 else 2
    for i in range(strings):
        y = 30 + i * (40 / max(strings - 1, 1))
        pen = QPen(QColor(225, 230, 240, 210), 1.6 + 1.2 * i + (2.0 if size < 32 else 0.0))
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(pen)
        p.drawLine(QPointF(10, y), QPointF(90, y))

    # A rounded-triangle pick with slightly convex sides, tilted for some movement.
    pick = QPainterPath()
    pick.moveTo(27, 24)
    pick.quadTo(50, 18, 73, 24)  # top edge
    pick.quadTo(86, 24, 80.6, 34.2)  # top-right corner
    pick.quadTo(72.4, 60.3, 54.3, 83.8)  # right side
    pick.quadTo(50, 92, 45.7, 83.8)  # tip
    pick.quadTo(27.6, 60.3, 19.4, 34.2)  # left side
    pick.quadTo(14, 24, 27, 24)  # top-left corner
    pick.closeSubpath()
    p.translate(50, 55)
    p.rotate(-14)
    p.translate(-50, -55)
    pick_fill = QLinearGradient(30, 18, 70, 90)
    pick_fill.setColorAt(0.0, QColor("#ffc061"))
    pick_fill.setColorAt(1.0, QColor("#ee5326"))
    p.setBrush(QBrush(pick_fill))
    p.setPen(QPen(QColor("#6e200c"), 2.2) if size >= 32 else Qt.PenStyle.NoPen)
    p.drawPath(pick)
    p.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.11 accepts a str format at run time although its stubs say bytes.
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An .ico holding PNG images (supported since Windows Vista)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def icns_bytes(elements: Iterable[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(kind + struct.pack(">I", 8 + len(blob)) + blob for kind, blob in elements)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_icons(out_dir: Path = ICON_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    needed = sorted({*PNG_SIZES, *ICO_SIZES, *(s for _, s in ICNS_TYPES)})
    pngs = {size: png_bytes(draw_icon(size)) for size in needed}
    written = []
    for size in PNG_SIZES:
        path = out_dir / f"{ICON_NAME}-{size}.png"
        path.write_bytes(pngs[size])
        written.append(path)
    ico = out_dir / f"{ICON_NAME}.ico"
    ico.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    icns = out_dir / f"{ICON_NAME}.icns"
    icns.write_bytes(icns_bytes((kind, pngs[size]) for kind, size in ICNS_TYPES))
    return [*written, ico, icns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    app = QGuiApplication.instance() or QGuiApplication([])
    for path in write_icons(args.out):
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
