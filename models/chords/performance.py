"""Turn a progression into a performance: voiced, strummed, picked or held notes on a
harmony channel, an optional bass line and drum kit, at a tempo, with the chord labels.

Label times are the first note-on of each chord (after humanizing), so segment
boundaries line up with what is heard up to FluidSynth's 64-sample block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.chords.progressions import Progression
from models.chords.vocabulary import Chord

HARMONY_CH, BASS_CH, DRUM_CH = 0, 1, 9

# How each texture plays a chord within one beat; (beat fraction, stroke) pairs.
# Strokes: "D" strum down (low to high), "U" up, "B" block, "A<n>" the n-th note of
# the voicing from the bottom (picking / arpeggio), "H" hold to the chord's end.
PATTERNS: dict[str, list[list[tuple[float, str]]]] = {
    "strum": [[(0, "D")], [(0, "D"), (0.5, "U")], [(0, "D"), (0.5, "D"), (0.75, "U")],
              [(0, "D"), (0.25, "U"), (0.5, "D"), (0.75, "U")]],
    "pick": [[(0, "A0"), (0.5, "A2")], [(0, "A0"), (0.25, "A2"), (0.5, "A1"), (0.75, "A3")],
             [(0, "A0"), (0.33, "A1"), (0.67, "A2")], [(0, "A0"), (0.5, "A3")]],
    "block": [[(0, "B")], [(0, "B"), (0.5, "B")]],
    "hold": [[(0, "H")]],
}
TEXTURES = tuple(PATTERNS)


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    end: float
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: str


@dataclass
class Performance:
    notes: list[Note]
    segments: list[Segment]
    duration: float  # seconds, including the release tail
    info: dict[str, object] = field(default_factory=dict)

    def lab(self) -> str:
        """MIREX .lab text: start, end and Harte label per line."""
        return "".join(f"{s.start:.6f}\t{s.end:.6f}\t{s.label}\n" for s in self.segments)


@dataclass(frozen=True)
class PlayStyle:
    texture: str = "strum"
    pattern: int = 0
    tempo: float = 100.0  # quarter notes per minute
    low: int = 40  # voicing range (MIDI pitches)
    high: int = 76
    voices: int = 5
    strum_ms: float = 12.0  # delay between strings of a strum
    swing: float = 0.0
    humanize_ms: float = 5.0
    velocity: int = 85
    bass: bool = False
    drums: bool = False
    lead_in: float = 0.5  # seconds of silence (no-chord) before the first chord
    tail: float = 1.0


def random_style(rng: np.random.Generator, texture: str | None = None) -> PlayStyle:
    texture = texture or TEXTURES[int(rng.integers(len(TEXTURES)))]
    low = int(rng.integers(36, 53))
    return PlayStyle(
        texture=texture, pattern=int(rng.integers(len(PATTERNS[texture]))),
        tempo=float(rng.uniform(60, 170)), low=low, high=low + int(rng.integers(19, 32)),
        voices=int(rng.integers(3, 7)), strum_ms=float(rng.uniform(4, 25)),
        swing=float(rng.choice([0.0, 0.0, 0.1, 0.17])), humanize_ms=float(rng.uniform(0, 10)),
        velocity=int(rng.integers(60, 115)), bass=bool(rng.random() < 0.5),
        drums=bool(rng.random() < 0.3), lead_in=float(rng.uniform(0.2, 1.0)))


def voice(chord: Chord, rng: np.random.Generator, low: int, high: int, voices: int,
          prev: list[int] | None = None) -> list[int]:
    """MIDI pitches for ``chord``: its bass tone lowest, every chord tone present when
    ``voices`` allows (the fifth of a plain triad or seventh may be left out above
    three voices), the rest doubled, kept near the previous voicing."""
    pcs = list(chord.pitch_classes)
    bass_pc = chord.bass_pc
    bass = low + (bass_pc - low) % 12
    must = [pc for pc in pcs if pc != bass_pc]
    fifth = (chord.root + 7) % 12
    if len(must) + 1 > voices and fifth in must and fifth != bass_pc:
        must.remove(fifth)  # a perfect fifth only; altered fifths define the chord
    # Upper tones: start near the previous voicing's centre or just above the bass.
    centre = int(np.mean(prev[1:])) if prev and len(prev) > 1 else bass + 9
    upper: list[int] = []
    for pc in must:
        cands = [p for p in range(bass + 1, high + 1) if p % 12 == pc]
        if not cands:
            cands = [bass + 1 + (pc - bass - 1) % 12]
        upper.append(min(cands, key=lambda p: (abs(p - centre), p)))
    while len(upper) + 1 < voices:
        pc = pcs[int(rng.integers(len(pcs)))]
        cands = [p for p in range(bass + 1, high + 1) if p % 12 == pc and p not in upper]
        if not cands:
            break
        upper.append(cands[int(rng.integers(len(cands)))])
    return [bass, *sorted(set(upper))]


def perform(prog: Progression, style: PlayStyle, rng: np.random.Generator) -> Performance:
    spb = 60.0 / style.tempo
    pattern = PATTERNS[style.texture][style.pattern % len(PATTERNS[style.texture])]
    jitter = style.humanize_ms / 1000.0
    notes: list[Note] = []
    segments: list[Segment] = []
    t_beat = 0.0
    prev: list[int] | None = None
    for span in prog.spans:
        t0 = style.lead_in + t_beat * spb
        t1 = style.lead_in + (t_beat + span.beats) * spb
        t_beat += span.beats
        if span.chord.is_no_chord:
            segments.append(Segment(t0, t1, "N"))
            prev = None
            continue
        pitches = voice(span.chord, rng, style.low, style.high, style.voices, prev)
        prev = pitches
        chord_notes: list[Note] = []
        uppers = sum(1 for _, k in pattern if k.startswith("A") and k != "A0")
        beat = 0.0
        while beat < span.beats - 1e-9:
            for frac, stroke in pattern:
                pos = beat + frac
                if pos >= span.beats - 1e-9 or (stroke == "H" and beat > 0):
                    continue  # a held chord is struck once
                if style.swing and abs(frac - 0.5) < 1e-9:
                    pos += style.swing
                onset = t0 + pos * spb + (float(rng.uniform(0, jitter)) if pos > 0 else 0.0)
                nxt = min(beat + 1.0, span.beats)
                end = t1 if stroke == "H" else min(t1, t0 + nxt * spb + 0.4 * spb)
                vel = int(np.clip(style.velocity + rng.integers(-8, 9) - (6 if frac else 0),
                                  20, 127))
                if stroke in ("D", "U"):
                    order = pitches if stroke == "D" else pitches[::-1]
                    if stroke == "U":
                        order = order[: max(2, len(order) - 2)]  # up-strokes skip the bass
                    for k, p in enumerate(order):
                        chord_notes.append(Note(onset + k * style.strum_ms / 1000, end, p,
                                                max(20, vel - 2 * k), HARMONY_CH))
                elif stroke.startswith("A"):
                    # The bass stays on A0; the upper strokes walk on through the
                    # voicing beat after beat, so a long chord shows all its tones.
                    n = int(stroke[1:])
                    if n and len(pitches) > 1:
                        n = 1 + (n - 1 + int(beat) * uppers) % (len(pitches) - 1)
                    p = pitches[n % len(pitches)]
                    chord_notes.append(Note(onset, t1 if pos == 0 else end, p, vel, HARMONY_CH))
                else:
                    chord_notes.extend(Note(onset, end, p, vel, HARMONY_CH) for p in pitches)
            beat += 1.0
        # Every tone the label names must sound: a short chord under a picking
        # pattern would otherwise leave out the very tone that tells F:7 from F:maj.
        heard = {n.pitch % 12 for n in chord_notes}
        start = min((n.start for n in chord_notes), default=t0)
        for p in pitches:
            if p % 12 not in heard:
                chord_notes.append(Note(start, t1, p, max(20, style.velocity - 10), HARMONY_CH))
                heard.add(p % 12)
        if style.bass:
            b = 28 + (span.chord.bass_pc - 28) % 12
            for k in range(int(np.ceil(span.beats / 2))):
                on = t0 + 2 * k * spb
                chord_notes.append(Note(on, min(t1, on + 1.9 * spb), b, style.velocity, BASS_CH))
        start = min(n.start for n in chord_notes)
        segments.append(Segment(start, t1, span.chord.label()))
        notes.extend(chord_notes)
    end_time = style.lead_in + t_beat * spb
    if style.drums:
        k = 0
        while k * spb < end_time - style.lead_in - 1e-9:
            on = style.lead_in + k * spb
            notes.append(Note(on, on + 0.1, 36 if k % 2 == 0 else 38, 90, DRUM_CH))
            for h in (0.0, 0.5):
                notes.append(Note(on + h * spb, on + h * spb + 0.05, 42, 60, DRUM_CH))
            k += 1
    # Close the gaps: a segment ends where the next begins; silence before and after is N.
    fixed: list[Segment] = []
    for i, s in enumerate(segments):
        end = segments[i + 1].start if i + 1 < len(segments) else s.end
        fixed.append(Segment(s.start, end, s.label))
    out = [Segment(0.0, fixed[0].start, "N")] if fixed and fixed[0].start > 0 else []
    out.extend(fixed)
    duration = end_time + style.tail
    out.append(Segment(out[-1].end if out else 0.0, duration, "N"))
    merged: list[Segment] = []
    for s in out:
        if merged and merged[-1].label == s.label == "N":
            merged[-1] = Segment(merged[-1].start, s.end, "N")
        elif s.end > s.start:
            merged.append(s)
    notes.sort(key=lambda n: (n.start, n.channel, n.pitch))
    return Performance(notes, merged, duration)


def to_midi(perf: Performance, path: str | Path, programs: dict[int, int],
            detune_cents: float = 0.0) -> None:
    """Write the performance as a Standard MIDI File, note for note (960 ticks per
    second): what TiMidity renders (synth_timidity.py), and a file to listen to. A
    detune is a one-semitone bend range (RPN 0) and a static bend, as in
    synth_offline."""
    import mido

    tpq, tempo = 480, 500000  # 120 bpm: one tick is 1/960 s
    events: list[tuple[float, int, mido.Message]] = []
    for n in perf.notes:
        events.append((n.start, 1, mido.Message("note_on", channel=n.channel, note=n.pitch,
                                                velocity=n.velocity)))
        events.append((n.end, 0, mido.Message("note_off", channel=n.channel, note=n.pitch)))
    track = mido.MidiTrack()
    for ch, prog in sorted(programs.items()):
        track.append(mido.Message("program_change", channel=ch, program=prog))
        if ch == DRUM_CH or not detune_cents:
            continue
        for control, value in ((101, 0), (100, 0), (6, 1), (38, 0), (101, 127), (100, 127)):
            track.append(mido.Message("control_change", channel=ch, control=control,
                                      value=value))
        bend = int(np.clip(round(detune_cents / 100 * 8191), -8192, 8191))
        track.append(mido.Message("pitchwheel", channel=ch, pitch=bend))
    last = 0
    for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tick = round(t * 960)
        track.append(msg.copy(time=tick - last))
        last = tick
    mf = mido.MidiFile(ticks_per_beat=tpq)
    mf.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)]))
    mf.tracks.append(track)
    mf.save(path)
