"""A strip's insert effects: the chain in processing order, each with its on/off
(bypass) box; add from a menu of the known effect types or a VST3 plugin, remove,
reorder (drag, or the arrow buttons) and open a parameter editor (double-click).

The list is redrawn from the document only: a click edits the document (one undo
step) and the document's change notification brings the new chain here, as it
does after an undo or a partner's edit.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDropEvent, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.document import Effect
from strumspace_desktop.core.effects import EFFECT_TYPES
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.mixer.edits import MixerEdits
from strumspace_desktop.ui.mixer.vst3_dialog import Vst3Dialog

EFFECT_ID_ROLE = Qt.ItemDataRole.UserRole
LIST_HEIGHT = 92


def effect_label(effect: Effect) -> str:
    if effect.type == "vst3":
        name = Path(effect.plugin).name
        return name[:-5] if name.lower().endswith(".vst3") else (name or "VST3")
    kind = EFFECT_TYPES.get(effect.type)
    return kind.label if kind is not None else effect.type


def drop_index(source_row: int, target_row: int, count: int) -> int:
    """Where an item dragged from `source_row` lands, as an index among the others,
    when dropped before row `target_row` (count: after the last)."""
    target_row = max(0, min(target_row, count))
    return target_row - 1 if target_row > source_row else target_row


class EffectList(QListWidget):
    """The chain; a drag only reports where the effect should go (`moved`)."""

    moved = Signal(str, int)  # effect id, index among the other effects

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFixedHeight(LIST_HEIGHT)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # Letters typed while the mixer was last clicked still play the computer-keyboard
        # piano (a focused list would take them for its type-ahead search).
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # The on/off box must read as a box when off too (the dark palette hides it).
        self.setStyleSheet(
            f"QListView::indicator {{ width: 10px; height: 10px; border-radius: 2px; "
            f"border: 1px solid {theme.DIM_TEXT}; background: #17191c; }}"
            f"QListView::indicator:checked {{ background: {theme.PLAY_GREEN}; "
            f"border-color: {theme.PLAY_GREEN}; }}")

    def dropEvent(self, event: QDropEvent) -> None:
        item = self.currentItem()
        if event.source() is not self or item is None:
            event.ignore()
            return
        target = self.indexAt(event.position().toPoint())
        if not target.isValid():
            row = self.count()
        elif self.dropIndicatorPosition() == QAbstractItemView.DropIndicatorPosition.BelowItem:
            row = target.row() + 1
        else:
            row = target.row()
        index = drop_index(self.row(item), row, self.count())
        effect_id = str(item.data(EFFECT_ID_ROLE))
        # Nothing moves here (the view would delete the dragged row on a move); the
        # document edit, after the drag has ended, redraws the chain.
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        QTimer.singleShot(0, lambda: self.moved.emit(effect_id, index))


class EffectsSection(QWidget):
    edit_requested = Signal(str)  # effect id: open its parameter editor

    def __init__(self, owner: str, edits: MixerEdits, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner  # a track id or "master"
        self.edits = edits
        self.effects: list[Effect] = []
        self._errors: dict[str, str] = {}
        self._shown: tuple[object, ...] | None = None
        self.list = EffectList()
        self.list.setObjectName("EffectList")
        self.list.setToolTip("Insert effects, top to bottom. Double-click to edit, drag to "
                             "reorder, untick to bypass.")
        self.list.itemChanged.connect(self._item_changed)
        self.list.itemDoubleClicked.connect(
            lambda item: self.edit_requested.emit(str(item.data(EFFECT_ID_ROLE))))
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.moved.connect(self.move_effect)
        self.list.currentRowChanged.connect(lambda _row: self._buttons_state())

        self.add_menu = QMenu(self)
        for kind in EFFECT_TYPES.values():
            if kind.name != "vst3":
                act = self.add_menu.addAction(kind.label)
                act.setData(kind.name)
                act.triggered.connect(lambda _c=False, n=kind.name: self.add_effect(n))
        self.add_menu.addSeparator()
        self.vst3_action = self.add_menu.addAction("VST3 plugin…")
        self.vst3_action.triggered.connect(self.choose_vst3)
        self.add_button = self._button("+", "Add an effect")
        self.add_button.setMenu(self.add_menu)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.remove_button = self._button("−", "Remove the selected effect")
        self.remove_button.clicked.connect(lambda: self._with_current(self.remove_effect))
        self.up_button = self._button("▲", "Move the selected effect earlier in the chain")
        self.up_button.clicked.connect(lambda: self._with_current(lambda e: self.step(e, -1)))
        self.down_button = self._button("▼", "Move the selected effect later in the chain")
        self.down_button.clicked.connect(lambda: self._with_current(lambda e: self.step(e, 1)))

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._buttons_state()

    def _button(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.setObjectName("EffectButton")
        return b

    # Showing -------------------------------------------------------------------------------
    def show_effects(self, effects: list[Effect], errors: dict[str, str] | None = None) -> None:
        errors = {e.id: errors[e.id] for e in effects if errors and e.id in errors}
        shown = (tuple(effects), tuple(sorted(errors.items())))
        if shown == self._shown:
            return
        self._shown = shown
        self.effects = list(effects)
        self._errors = errors
        current = self.current_effect_id()
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for e in effects:
                item = QListWidgetItem(effect_label(e))
                item.setData(EFFECT_ID_ROLE, e.id)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
                item.setCheckState(Qt.CheckState.Unchecked if e.bypass
                                   else Qt.CheckState.Checked)
                tip = f"{effect_label(e)}: {'bypassed' if e.bypass else 'on'}"
                if e.plugin:
                    tip += f"\n{e.plugin}"
                if e.id in errors:
                    item.setIcon(self.style().standardIcon(
                        QStyle.StandardPixmap.SP_MessageBoxWarning))
                    tip += f"\n{errors[e.id]}"
                if e.bypass:
                    font = QFont(item.font())
                    font.setItalic(True)
                    item.setFont(font)
                    item.setForeground(QColor(theme.DIM_TEXT))
                item.setToolTip(tip)
                self.list.addItem(item)
                if e.id == current:
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        self._buttons_state()

    def set_editable(self, editable: bool) -> None:
        self.list.setDragEnabled(editable)
        self.add_button.setEnabled(editable)
        self._buttons_state()

    def _buttons_state(self) -> None:
        editable = self.edits.editable
        row = self.list.currentRow()
        has = 0 <= row < self.list.count()
        self.remove_button.setEnabled(editable and has)
        self.up_button.setEnabled(editable and has and row > 0)
        self.down_button.setEnabled(editable and has and row < self.list.count() - 1)

    def current_effect_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(EFFECT_ID_ROLE))

    def select(self, effect_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(EFFECT_ID_ROLE) == effect_id:
                self.list.setCurrentRow(i)

    def _with_current(self, act: object) -> None:
        effect_id = self.current_effect_id()
        if effect_id is not None and callable(act):
            act(effect_id)

    # Editing (each one document edit, one undo step) --------------------------------------------
    def add_effect(self, type_name: str, plugin: str = "") -> str | None:
        effect_id = self.edits.run(lambda d: d.add_effect(self.owner, type_name, plugin=plugin))
        if effect_id is not None:
            self.select(effect_id)
        return effect_id

    def add_vst3(self, path: Path) -> str | None:
        return self.add_effect("vst3", plugin=str(path))

    def remove_effect(self, effect_id: str) -> None:
        self.edits.run(lambda d: d.remove_effect(effect_id))

    def move_effect(self, effect_id: str, index: int) -> None:
        ids = [e.id for e in self.effects]
        if effect_id not in ids:
            return
        if ids.index(effect_id) == index:
            return
        self.edits.run(lambda d: d.move_effect(effect_id, index))
        self.select(effect_id)

    def step(self, effect_id: str, delta: int) -> None:
        """Move an effect one place earlier (-1) or later (+1)."""
        ids = [e.id for e in self.effects]
        if effect_id in ids:
            index = ids.index(effect_id) + delta
            if 0 <= index < len(ids):
                self.move_effect(effect_id, index)

    def set_bypass(self, effect_id: str, bypass: bool) -> None:
        self.edits.run(lambda d: d.update_effect(effect_id, bypass=bypass))

    def _item_changed(self, item: QListWidgetItem) -> None:
        effect_id = str(item.data(EFFECT_ID_ROLE))
        bypass = item.checkState() != Qt.CheckState.Checked
        current = next((e for e in self.effects if e.id == effect_id), None)
        if current is not None and current.bypass != bypass:
            if self.edits.editable:
                self.set_bypass(effect_id, bypass)
            else:
                self._shown = None
                self.show_effects(self.effects, self._errors)

    def choose_vst3(self) -> str | None:
        dialog = Vst3Dialog(self.window())
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.chosen is None:
            return None
        return self.add_vst3(dialog.chosen)

    def _context_menu(self, where: QPoint) -> None:
        item = self.list.itemAt(where)
        menu = QMenu(self)
        if item is not None:
            effect_id = str(item.data(EFFECT_ID_ROLE))
            effect = next((e for e in self.effects if e.id == effect_id), None)
            menu.addAction("Edit…", lambda: self.edit_requested.emit(effect_id))
            if self.edits.editable and effect is not None:
                menu.addAction("Turn On" if effect.bypass else "Bypass",
                               lambda: self.set_bypass(effect_id, not effect.bypass))
                menu.addAction("Move Up", lambda: self.step(effect_id, -1))
                menu.addAction("Move Down", lambda: self.step(effect_id, 1))
                menu.addSeparator()
                menu.addAction("Remove", lambda: self.remove_effect(effect_id))
        if self.edits.editable:
            menu.addSeparator()
            menu.addMenu(self.add_menu).setText("Add Effect")
        menu.popup(self.list.viewport().mapToGlobal(where))
