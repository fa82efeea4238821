"""Choose a VST3 plugin: those found in the standard folders, or any bundle picked
with a file chooser. Only the choice is made here; the engine loads the plugin
(in a child process first) and reports when it cannot."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.ui.mixer.vst3_folders import (
    VST3_PATH_ENV,
    bundle_of,
    find_vst3_plugins,
    vst3_folders,
)

PATH_ROLE = Qt.ItemDataRole.UserRole


class Vst3Dialog(QDialog):
    def __init__(self, parent: QWidget | None = None,
                 folders: Iterable[Path] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add VST3 Plugin")
        self.chosen: Path | None = None
        self.folders = list(vst3_folders() if folders is None else folders)
        self.plugins = find_vst3_plugins(self.folders)

        self.list = QListWidget()
        for plugin in self.plugins:
            item = QListWidgetItem(plugin.name)
            item.setToolTip(str(plugin.path))
            item.setData(PATH_ROLE, str(plugin.path))
            self.list.addItem(item)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.currentItemChanged.connect(lambda *_: self._ok_state())
        searched = "\n".join(str(f) for f in self.folders)
        self.info = QLabel(
            f"{len(self.plugins)} plugin(s) found in the VST3 folders." if self.plugins
            else "No VST3 plugins were found in the standard folders. Choose one with "
                 "Browse…, or name more folders in $" + VST3_PATH_ENV + ".")
        self.info.setWordWrap(True)
        self.info.setToolTip("Searched:\n" + searched)
        self.problem = QLabel()
        self.problem.setObjectName("ProblemLabel")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton(self.browse_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        if self.plugins:
            self.list.setCurrentRow(0)
        self._ok_state()
        self.resize(420, 360)

    def _ok_state(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.list.currentItem() is not None)

    def accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.chosen = Path(str(item.data(PATH_ROLE)))
        super().accept()

    def browse(self) -> None:
        """A file chooser (a bundle is a folder on Linux and macOS: pick any file in it)."""
        start = next((str(f) for f in self.folders if f.is_dir()), os.path.expanduser("~"))
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a VST3 plugin", start, "VST3 plugins (*.vst3 *.so *.dylib);;"
            "All files (*)")
        if path:
            self.choose_path(Path(path))

    def choose_path(self, path: Path) -> bool:
        """Take the plugin at (or around) `path`, closing the dialog; a path that is no
        VST3 plugin is refused with a message and the dialog stays open."""
        bundle = bundle_of(path)
        if bundle is None or not bundle.exists():
            self.problem.setText(f"{path.name} is not a VST3 plugin (a VST3 plugin is a "
                                 "“.vst3” bundle).")
            self.problem.show()
            return False
        self.chosen = bundle
        QDialog.accept(self)
        return True
