"""The effects a track or the master bus can hold, and their parameters.

Qt-free and free of pedalboard, so that the document, the mixer UI and the
engine agree on one list. Parameter names are pedalboard's constructor
arguments wherever pedalboard has the effect, so the engine builds a plugin
with `Class(**params)`. The EQ is three pedalboard filters (low shelf, peak,
high shelf) whose arguments carry a band prefix here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    label: str
    minimum: float
    maximum: float
    default: float
    unit: str = ""
    log: bool = False  # a fader or knob should move logarithmically (frequencies, times)

    def clamp(self, value: float) -> float:
        if not math.isfinite(value):
            return self.default
        return min(self.maximum, max(self.minimum, float(value)))


@dataclass(frozen=True, slots=True)
class EffectType:
    name: str
    label: str
    params: tuple[ParamSpec, ...]

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> ParamSpec | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def normalized(self, params: dict[str, float]) -> dict[str, float]:
        """Every known parameter, clamped to its range, missing ones at their default.

        VST3 plugins have no fixed list: their values are kept as given (finite only).
        """
        if not self.params:
            return {str(k): float(v) for k, v in params.items() if math.isfinite(float(v))}
        out = self.defaults()
        for p in self.params:
            if p.name in params:
                out[p.name] = p.clamp(float(params[p.name]))
        return out


def _mix(default: float = 0.5) -> ParamSpec:
    return ParamSpec("mix", "Mix", 0.0, 1.0, default)


EFFECT_TYPES: dict[str, EffectType] = {
    e.name: e
    for e in (
        EffectType("reverb", "Reverb", (
            ParamSpec("room_size", "Room size", 0.0, 1.0, 0.5),
            ParamSpec("damping", "Damping", 0.0, 1.0, 0.5),
            ParamSpec("wet_level", "Wet", 0.0, 1.0, 0.33),
            ParamSpec("dry_level", "Dry", 0.0, 1.0, 0.4),
            ParamSpec("width", "Width", 0.0, 1.0, 1.0),
        )),
        EffectType("delay", "Delay", (
            ParamSpec("delay_seconds", "Time", 0.001, 2.0, 0.375, "s", log=True),
            ParamSpec("feedback", "Feedback", 0.0, 0.95, 0.3),
            _mix(0.3),
        )),
        EffectType("chorus", "Chorus", (
            ParamSpec("rate_hz", "Rate", 0.01, 20.0, 1.0, "Hz", log=True),
            ParamSpec("depth", "Depth", 0.0, 1.0, 0.25),
            ParamSpec("centre_delay_ms", "Delay", 1.0, 50.0, 7.0, "ms"),
            ParamSpec("feedback", "Feedback", -0.95, 0.95, 0.0),
            _mix(),
        )),
        EffectType("compressor", "Compressor", (
            ParamSpec("threshold_db", "Threshold", -60.0, 0.0, -18.0, "dB"),
            ParamSpec("ratio", "Ratio", 1.0, 20.0, 4.0, ":1", log=True),
            ParamSpec("attack_ms", "Attack", 0.1, 200.0, 5.0, "ms", log=True),
            ParamSpec("release_ms", "Release", 5.0, 2000.0, 100.0, "ms", log=True),
        )),
        EffectType("eq", "EQ", (
            ParamSpec("low_freq_hz", "Low freq", 20.0, 1000.0, 120.0, "Hz", log=True),
            ParamSpec("low_gain_db", "Low gain", -24.0, 24.0, 0.0, "dB"),
            ParamSpec("mid_freq_hz", "Mid freq", 100.0, 10000.0, 1000.0, "Hz", log=True),
            ParamSpec("mid_gain_db", "Mid gain", -24.0, 24.0, 0.0, "dB"),
            ParamSpec("mid_q", "Mid Q", 0.1, 10.0, 0.707, log=True),
            ParamSpec("high_freq_hz", "High freq", 1000.0, 20000.0, 8000.0, "Hz", log=True),
            ParamSpec("high_gain_db", "High gain", -24.0, 24.0, 0.0, "dB"),
        )),
        EffectType("limiter", "Limiter", (
            ParamSpec("threshold_db", "Threshold", -30.0, 0.0, -1.0, "dB"),
            ParamSpec("release_ms", "Release", 1.0, 1000.0, 100.0, "ms", log=True),
        )),
        EffectType("gain", "Gain", (ParamSpec("gain_db", "Gain", -60.0, 24.0, 0.0, "dB"),)),
        EffectType("highpass", "High-pass", (
            ParamSpec("cutoff_frequency_hz", "Cutoff", 20.0, 20000.0, 80.0, "Hz", log=True),
        )),
        EffectType("lowpass", "Low-pass", (
            ParamSpec("cutoff_frequency_hz", "Cutoff", 20.0, 20000.0, 8000.0, "Hz", log=True),
        )),
        EffectType("distortion", "Distortion", (
            ParamSpec("drive_db", "Drive", 0.0, 60.0, 18.0, "dB"),
        )),
        EffectType("phaser", "Phaser", (
            ParamSpec("rate_hz", "Rate", 0.01, 20.0, 1.0, "Hz", log=True),
            ParamSpec("depth", "Depth", 0.0, 1.0, 0.5),
            ParamSpec("centre_frequency_hz", "Centre", 100.0, 10000.0, 1300.0, "Hz", log=True),
            ParamSpec("feedback", "Feedback", -0.95, 0.95, 0.0),
            _mix(),
        )),
        EffectType("vst3", "VST3 plugin", ()),
    )
}

MASTER = "master"  # the track id effects on the master bus use


def effect_type(name: str) -> EffectType:
    try:
        return EFFECT_TYPES[name]
    except KeyError:
        raise ValueError(
            f"unknown effect {name!r}; known: {', '.join(sorted(EFFECT_TYPES))}"
        ) from None
