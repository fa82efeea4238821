"""An effect's parameter editor, generated from its type's ParamSpecs: one slider
per parameter (logarithmic where the spec says `log`), its value with its unit,
double-click for the default. A VST3 plugin has no fixed list: the values the
document holds for it are shown as number fields, with the plugin's path and the
engine's message when it could not load it.

The editor is a tool window that follows the document (undo, a partner's edit);
each slider gesture is one undo step.
"""

from __future__ import annotations

import math
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.document import Document, Effect
from strumspace_desktop.core.effects import EFFECT_TYPES
from strumspace_desktop.ui.mixer.edits import MixerEdits
from strumspace_desktop.ui.mixer.gesture_slider import GestureSlider
from strumspace_desktop.ui.mixer.scales import format_value, param_mapping

VST3_LIMIT = 1e9


def _format(value: float, unit: str) -> str:
    return format_value(value, unit)


class EffectEditor(QDialog):
    def __init__(self, effect: Effect, owner_name: str, edits: MixerEdits,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Tool, True)
        self.effect_id = effect.id
        self.edits = edits
        self.effect = effect
        kind = EFFECT_TYPES[effect.type]
        self.setWindowTitle(f"{kind.label} — {owner_name}")
        self.sliders: dict[str, GestureSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        self.fields: dict[str, QDoubleSpinBox] = {}

        self.on_box = QCheckBox("On")
        self.on_box.setToolTip("Untick to bypass this effect")
        self.on_box.clicked.connect(
            lambda on: edits.run(lambda d: d.update_effect(self.effect_id, bypass=not on)))
        self.error_label = QLabel()
        self.error_label.setObjectName("ProblemLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(8)
        layout = QVBoxLayout(self)
        layout.addWidget(self.on_box)
        if effect.type == "vst3":
            self.plugin_label = QLabel(effect.plugin)
            self.plugin_label.setWordWrap(True)
            self.plugin_label.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(self.plugin_label)
            self.vst3_note = QLabel("The plugin's own parameters are listed here once "
                                    "values are stored for them.")
            self.vst3_note.setObjectName("FieldLabel")
            self.vst3_note.setWordWrap(True)
            layout.addWidget(self.vst3_note)
        layout.addWidget(self.error_label)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        for row, spec in enumerate(kind.params):
            mapping = param_mapping(spec)
            slider = GestureSlider(mapping, spec.default,
                                   formatter=partial(_format, unit=spec.unit))
            slider.setMinimumWidth(180)
            slider.setAccessibleName(spec.label)
            edits.bind_slider(slider, partial(self._write, spec.name))
            slider.value_changed.connect(partial(self._show_value, spec.name, spec.unit))
            value = QLabel()
            value.setMinimumWidth(64)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(QLabel(spec.label), row, 0)
            self.grid.addWidget(slider, row, 1)
            self.grid.addWidget(value, row, 2)
            self.sliders[spec.name] = slider
            self.value_labels[spec.name] = value
        self.show_effect(effect)
        self.resize(360, self.sizeHint().height())

    def _write(self, name: str, document: Document, value: float) -> None:
        document.update_effect(self.effect_id, params={name: value})

    def _show_value(self, name: str, unit: str, value: float) -> None:
        self.value_labels[name].setText(format_value(value, unit))

    def show_effect(self, effect: Effect, error: str | None = None) -> None:
        self.effect = effect
        self.on_box.setChecked(not effect.bypass)
        kind = EFFECT_TYPES[effect.type]
        for spec in kind.params:
            value = effect.params.get(spec.name, spec.default)
            slider = self.sliders[spec.name]
            if not slider.dragging:
                slider.set_value(value)
            self.value_labels[spec.name].setText(format_value(slider.value, spec.unit))
        if effect.type == "vst3":
            self._show_vst3_fields(effect)
        self.error_label.setText(error or "")
        self.error_label.setVisible(bool(error))
        editable = self.edits.editable
        self.on_box.setEnabled(editable)
        for w in (*self.sliders.values(), *self.fields.values()):
            w.setEnabled(editable)

    def _show_vst3_fields(self, effect: Effect) -> None:
        names = sorted(effect.params)
        if names != sorted(self.fields):
            for field in self.fields.values():
                self.grid.removeWidget(field)
                field.deleteLater()
            while self.grid.count():
                taken = self.grid.takeAt(0)
                w = taken.widget() if taken is not None else None
                if w is not None:
                    w.deleteLater()
            self.fields = {}
            for row, name in enumerate(names):
                field = QDoubleSpinBox()
                field.setRange(-VST3_LIMIT, VST3_LIMIT)
                field.setDecimals(4)
                field.setKeyboardTracking(False)
                field.valueChanged.connect(lambda v, n=name: self._vst3_value(n, v))
                self.grid.addWidget(QLabel(name), row, 0)
                self.grid.addWidget(field, row, 1)
                self.fields[name] = field
        for name, field in self.fields.items():
            field.blockSignals(True)
            field.setValue(effect.params.get(name, 0.0))
            field.blockSignals(False)

    def _vst3_value(self, name: str, value: float) -> None:
        if math.isfinite(value) and self.effect.params.get(name) != value:
            self.edits.run(lambda d: d.update_effect(self.effect_id, params={name: value}))
