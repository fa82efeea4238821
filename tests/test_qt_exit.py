"""Qt + pyqtgraph must exit cleanly: the reason PySide6 is pinned to 6.11.3.

PySide6 6.12.0 aborted at interpreter exit ("Fatal Python error ... finalizing")
in 11 of 15 runs of a script like the one below (docs/DEPENDENCIES.md). The crash is
at exit, so it only shows in a fresh interpreter: each run is its own subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

RUNS = 5

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    plot = pg.PlotWidget()
    x = np.arange(96_000, dtype=np.float64) / 48_000.0  # two seconds at 48 kHz
    curve = plot.plot(x, np.sin(2 * np.pi * 440.0 * x).astype(np.float32))
    plot.resize(800, 300)
    plot.show()
    for _ in range(5):
        curve.setData(x, np.roll(curve.yData, 480))
        app.processEvents()
    assert plot.isVisible() and len(curve.xData) == 96_000
    app.quit()
    print("ok")
    """
)


@pytest.mark.parametrize("run", range(RUNS))
def test_pyqtgraph_app_exits_cleanly(run: int) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Fatal Python error" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
