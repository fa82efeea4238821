"""The mixer's strips: one per sounding track, and the master bus.

A strip shows what the document says (name, colour, volume, pan, mute, solo,
effects) and edits it through MixerEdits: a fader or pan drag, press to release,
is one undo step, and so is a click. The meter shows the engine's peaks for the
strip the track plays through (tracks on one MIDI channel share that strip).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from strumspace_desktop.core.document import Effect, Master, Track
from strumspace_desktop.core.effects import MASTER
from strumspace_desktop.core.gm import DRUM_BANK, DRUM_CHANNEL
from strumspace_desktop.ui import theme
from strumspace_desktop.ui.mixer.edits import MixerEdits
from strumspace_desktop.ui.mixer.effects_section import EffectsSection
from strumspace_desktop.ui.mixer.fader import VolumeFader
from strumspace_desktop.ui.mixer.gesture_slider import GestureSlider
from strumspace_desktop.ui.mixer.meter import PeakMeter
from strumspace_desktop.ui.mixer.scales import LinearMap, format_db, format_pan, format_value
from strumspace_desktop.ui.track_list import ElidedLabel

STRIP_WIDTH = 118
AUDIO_COLOUR = "#6ec1e4"  # as the arrangement draws audio lanes
MASTER_COLOUR = "#d6dae0"
LIMITER_RANGE = (-30.0, 0.0)  # the document's range for the limiter threshold
LIMITER_DEFAULT = -1.0


def strip_colour(track: Track) -> QColor:
    """The colour the arrangement gives the track's lane."""
    if track.kind == "midi":
        inst = track.instrument
        drums = inst.bank == DRUM_BANK or inst.channel == DRUM_CHANNEL
        return theme.track_colour(DRUM_CHANNEL if drums else inst.channel)
    if track.color and QColor.isValidColorName(track.color):
        return QColor(track.color)
    return QColor(AUDIO_COLOUR)


class StripHeader(QWidget):
    """The strip's name on a bar of its colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour = QColor(theme.ACCENT)
        self.name_label = ElidedLabel()
        self.name_label.setObjectName("StripName")
        self.name_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addWidget(self.name_label)

    def show(self, name: str, colour: QColor) -> None:  # type: ignore[override]
        if self.name_label.full_text() != name:
            self.name_label.setText(name)
        if colour != self.colour:
            self.colour = colour
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(QRectF(0, 0, self.width(), 4), self.colour)
        p.end()


class StripBase(QFrame):
    """Header, insert effects, fader with scale and meter, volume read-out."""

    edit_effect = Signal(str, str)  # owner, effect id

    def __init__(self, owner: str, edits: MixerEdits, meter_channels: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.edits = edits
        self.setObjectName("MixerStrip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(STRIP_WIDTH)
        self.header = StripHeader()
        self.effects = EffectsSection(owner, edits)
        self.effects.edit_requested.connect(lambda eid: self.edit_effect.emit(self.owner, eid))
        self.fader = VolumeFader()
        self.fader.setAccessibleName("Volume")
        self.meter = PeakMeter(meter_channels)
        self.readout = QLabel(format_db(0.0))
        self.readout.setObjectName("FieldLabel")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fader.value_changed.connect(lambda db: self.readout.setText(format_db(db)))
        fader_row = QHBoxLayout()
        fader_row.setContentsMargins(0, 0, 0, 0)
        fader_row.setSpacing(2)
        fader_row.addStretch(1)
        fader_row.addWidget(self.fader)
        fader_row.addWidget(self.meter)
        fader_row.addStretch(1)
        self.body = QVBoxLayout()  # what a kind of strip adds between effects and fader
        self.body.setSpacing(4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 6)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.effects)
        layout.addLayout(self.body)
        layout.addLayout(fader_row, 1)
        layout.addWidget(self.readout)

    @property
    def name(self) -> str:
        return self.header.name_label.full_text()

    def show_volume(self, db: float) -> None:
        if not self.fader.dragging:
            self.fader.set_value(db)
        self.readout.setText(format_db(self.fader.value))

    def show_effects(self, effects: list[Effect], errors: dict[str, str]) -> None:
        self.effects.show_effects(effects, errors)

    def set_editable(self, editable: bool) -> None:
        self.fader.setEnabled(editable)
        self.effects.set_editable(editable)


class ChannelStrip(StripBase):
    def __init__(self, track: Track, edits: MixerEdits, parent: QWidget | None = None) -> None:
        super().__init__(track.id, edits, 2, parent)
        self.track = track
        self.engine_strip: int | None = None  # where its peaks come from
        self.shared_with: str | None = None  # the track whose mix its channel plays
        tid = track.id
        self.pan = GestureSlider(LinearMap(-1.0, 1.0), 0.0, centred=True,
                                 formatter=format_pan)
        self.pan.setAccessibleName("Pan")
        self.pan_label = QLabel("C")
        self.pan_label.setObjectName("FieldLabel")
        self.pan_label.setFixedWidth(28)
        self.pan_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.pan.value_changed.connect(lambda v: self.pan_label.setText(format_pan(v)))
        edits.bind_slider(self.pan, lambda d, v: d.set_mixer(tid, pan=v))
        edits.bind_slider(self.fader, lambda d, v: d.set_mixer(tid, volume_db=v))
        self.mute_button = theme.toggle_button("MuteButton", "M", "Mute")
        self.solo_button = theme.toggle_button("SoloButton", "S", "Solo")
        self.mute_button.clicked.connect(
            lambda on: edits.run(lambda d: d.set_mixer(tid, mute=on)))
        self.solo_button.clicked.connect(
            lambda on: edits.run(lambda d: d.set_mixer(tid, solo=on)))
        pan_row = QHBoxLayout()
        pan_row.setSpacing(2)
        pan_row.addWidget(self.pan, 1)
        pan_row.addWidget(self.pan_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addStretch(1)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.solo_button)
        buttons.addStretch(1)
        self.body.addLayout(pan_row)
        self.body.addLayout(buttons)
        self.show_track(track)

    def show_track(self, track: Track) -> None:
        self.track = track
        self.header.show(track.name or "Untitled", strip_colour(track))
        self.fader.colour = strip_colour(track)
        m = track.mixer
        self.show_volume(m.volume_db)
        if not self.pan.dragging:
            self.pan.set_value(m.pan)
        self.pan_label.setText(format_pan(self.pan.value))
        self.mute_button.setChecked(m.mute)
        self.solo_button.setChecked(m.solo)

    def set_shared_with(self, owner_name: str | None) -> None:
        """Tracks on one MIDI channel play through one engine strip, with the mix of
        the first of them: say so on the others."""
        tip = (f"This track shares its MIDI channel with {owner_name}: the channel plays "
               f"with {owner_name}'s volume, pan and effects.") if owner_name else ""
        if self.header.toolTip() != tip:
            self.header.setToolTip(tip)
            self.readout.setToolTip(tip)
            self.shared_with = owner_name

    def set_editable(self, editable: bool) -> None:
        super().set_editable(editable)
        for w in (self.pan, self.mute_button, self.solo_button):
            w.setEnabled(editable)


class MasterStrip(StripBase):
    def __init__(self, edits: MixerEdits, parent: QWidget | None = None) -> None:
        super().__init__(MASTER, edits, 2, parent)
        self.header.show("Master", QColor(MASTER_COLOUR))
        self.fader.colour = QColor(MASTER_COLOUR)
        edits.bind_slider(self.fader, lambda d, v: d.set_master(volume_db=v))
        self.limiter_button = theme.toggle_button("LimiterButton", "Limiter",
                                                  "Master limiter on/off")
        self.limiter_button.clicked.connect(
            lambda on: edits.run(lambda d: d.set_master(limiter=on)))
        self.threshold = GestureSlider(LinearMap(*LIMITER_RANGE), LIMITER_DEFAULT,
                                       formatter=lambda v: format_value(v, "dB"))
        self.threshold.setAccessibleName("Limiter threshold")
        edits.bind_slider(self.threshold,
                          lambda d, v: d.set_master(limiter_threshold_db=v))
        self.threshold_label = QLabel()
        self.threshold_label.setObjectName("FieldLabel")
        self.threshold_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.threshold.value_changed.connect(self._threshold_text)
        self.body.addWidget(self.limiter_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.body.addWidget(self.threshold)
        self.body.addWidget(self.threshold_label)
        self.show_master(Master())

    def _threshold_text(self, db: float) -> None:
        self.threshold_label.setText(f"Ceiling {db:.1f} dB")

    def show_master(self, master: Master) -> None:
        self.show_volume(master.volume_db)
        self.limiter_button.setChecked(master.limiter)
        if not self.threshold.dragging:
            self.threshold.set_value(master.limiter_threshold_db)
        self._threshold_text(self.threshold.value)
        self.threshold.setEnabled(self.edits.editable and master.limiter)

    def set_editable(self, editable: bool) -> None:
        super().set_editable(editable)
        self.limiter_button.setEnabled(editable)
        self.threshold.setEnabled(editable and self.limiter_button.isChecked())
