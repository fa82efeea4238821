"""Choose an instrument: the 128 General MIDI programs by family, and the drum kits.

Used to add a track (with a name field and the kind of track: MIDI with an
instrument, audio, or the song's chord track) and to change a track's instrument.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.gm import DRUM_KITS, FAMILIES, PROGRAMS, Instrument

ROLE = Qt.ItemDataRole.UserRole
KINDS: tuple[tuple[str, str, str], ...] = (
    # kind, button, name field's placeholder
    ("midi", "MIDI (an instrument)", "Track name (the instrument's name if empty)"),
    ("audio", "Audio (record or import)", "Track name (Audio if empty)"),
    ("chord", "Chords", "Track name (Chords if empty)"),
)


class InstrumentDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, title: str = "Add MIDI Track",
                 with_name: bool = True, current: Instrument | None = None,
                 check: Callable[[Instrument], str | None] | None = None,
                 with_kinds: bool = False,
                 check_kind: Callable[[str], str | None] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(420, 520)
        self._check = check
        self._check_kind = check_kind
        self._kind = "midi"
        # The kind of track to add (only when adding).
        self.kind_buttons: dict[str, QRadioButton] = {}
        kind_group = QButtonGroup(self)
        kind_row = QHBoxLayout()
        for kind, text, _placeholder in KINDS:
            button = QRadioButton(text)
            button.setChecked(kind == "midi")
            button.toggled.connect(lambda on, k=kind: self._kind_toggled(k, on))
            kind_group.addButton(button)
            kind_row.addWidget(button)
            self.kind_buttons[kind] = button
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Track name (the instrument's name if empty)")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search instruments")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self._items: dict[Instrument, QTreeWidgetItem] = {}
        self._groups: list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]] = []
        for f, family in enumerate(FAMILIES):
            group = QTreeWidgetItem(self.tree, [family])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self._groups.append((group, []))
            for p in range(f * 8, f * 8 + 8):
                self._add_item(group, Instrument.melodic(p), f"{p + 1:3d}  {PROGRAMS[p]}")
        kits = QTreeWidgetItem(self.tree, ["Drum Kits"])
        kits.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self._groups.append((kits, []))
        for kit in DRUM_KITS:
            self._add_item(kits, Instrument.kit(kit.preset), kit.name)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.currentItemChanged.connect(lambda *_: self._validate())
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff8a80;")
        self.error_label.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        if with_kinds:
            layout.addLayout(kind_row)
        if with_name:
            form = QFormLayout()
            form.addRow("Name", self.name_edit)
            layout.addLayout(form)
        else:
            self.name_edit.hide()
        layout.addWidget(self.search_edit)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.select_instrument(current or Instrument.melodic(0))

    def _add_item(self, group: QTreeWidgetItem, inst: Instrument, text: str) -> None:
        item = QTreeWidgetItem(group, [text])
        item.setData(0, ROLE, inst)
        self._items[inst] = item
        self._groups[-1][1].append(item)

    def select_instrument(self, instrument: Instrument) -> None:
        item = self._items[instrument]
        parent = item.parent()
        if parent is not None:
            parent.setExpanded(True)
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)

    def instrument(self) -> Instrument | None:
        item = self.tree.currentItem()
        value = item.data(0, ROLE) if item is not None else None
        return value if isinstance(value, Instrument) else None

    def track_name(self) -> str:
        return self.name_edit.text().strip()

    def kind(self) -> str:
        """The kind of track to add: "midi", "audio" or "chord"."""
        return self._kind

    def _kind_toggled(self, kind: str, on: bool) -> None:
        if on:
            self.set_kind(kind)

    def set_kind(self, kind: str) -> None:
        """Audio and chord tracks have no instrument: the list hides."""
        self._kind = kind
        button = self.kind_buttons[kind]
        if not button.isChecked():
            button.setChecked(True)
        midi = kind == "midi"
        self.search_edit.setVisible(midi)
        self.tree.setVisible(midi)
        self.name_edit.setPlaceholderText(next(p for k, _t, p in KINDS if k == kind))
        self._validate()

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for group, children in self._groups:
            family_match = needle in group.text(0).lower()
            shown = 0
            for child in children:
                hide = bool(needle) and not family_match and needle not in child.text(0).lower()
                child.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)
            if needle:
                group.setExpanded(shown > 0)

    def _validate(self) -> bool:
        if self._kind != "midi":
            problem = self._check_kind(self._kind) if self._check_kind is not None else None
        else:
            inst = self.instrument()
            problem = None if inst is not None else "Choose an instrument."
            if inst is not None and self._check is not None:
                problem = self._check(inst)
        self.error_label.setText(problem or "")
        self.error_label.setVisible(problem is not None)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)
        return problem is None

    def _double_clicked(self, item: QTreeWidgetItem) -> None:
        if isinstance(item.data(0, ROLE), Instrument) and self._validate():
            self.accept()

    def accept(self) -> None:
        if self._validate():
            super().accept()
