"""The live recognizer: the display logic on synthetic posteriors (hysteresis,
smoothing, bass, silence), and the whole path with the committed live model on
FluidSynth renders (any block size, bounded memory, silence)."""

from __future__ import annotations

import itertools

import mir_eval
import numpy as np
import pytest
from chords_decode_support import outputs_for
from chords_runtime_support import (
    RATE,
    REAL_MODEL_REASON,
    is_real_model,
    majmin_share,
    rendered,
    shown_at,
)

from models.chords import features as feat
from models.chords.live import ChordSmoother, LiveChord, LiveRecognizer
from models.chords.vocabulary import N_INDEX, parse

FRAME = 256 / 11025


def _feed(sm: ChordSmoother, out: dict[str, np.ndarray],
          quiet: np.ndarray | None = None) -> list[LiveChord]:
    events = []
    for i in range(out["frame_logprobs"].shape[0]):
        e = sm.step(out["frame_logprobs"][i], out["bass_logprobs"][i], i * FRAME,
                    bool(quiet[i]) if quiet is not None else False)
        if e is not None:
            events.append(e)
    return events


def test_changes_are_shown_after_the_hold_and_flickers_are_not() -> None:
    rng = np.random.default_rng(0)
    c, g, f = (parse(x).index for x in ("C:maj", "G:maj", "F:maj"))
    # C, a one-frame flicker towards G (G 0.65, C 0.3, as a wavering frame), C, then F
    out = outputs_for([c, g, c, f], [40, 1, 40, 40], rng, noise=0.3)
    wobble = np.full(157, 0.05 / 155)
    wobble[g], wobble[c] = 0.65, 0.3
    out["frame_logprobs"][40] = np.log(wobble)
    out["bass_logprobs"][40] = out["bass_logprobs"][39]
    events = _feed(ChordSmoother(), out)
    assert [e.label for e in events] == ["C:maj", "F:maj"]
    # each change shows within hold + smoothing lag frames of its true start
    assert events[0].since <= 3 * FRAME
    assert 81 * FRAME <= events[1].since <= 84 * FRAME
    # without smoothing and the bass's vote the wavering frame comes through
    raw = _feed(ChordSmoother(hold_frames=1, smoothing=0.0, bass_weight=0.0), out)
    assert [e.label for e in raw] == ["C:maj", "G:maj", "C:maj", "F:maj"]
    # a frame sure of a chord is shown at once (latency first), unless a hold of 2
    # frames is asked for
    sure = outputs_for([c, g, c, f], [40, 1, 40, 40], rng, noise=0.3)
    assert [e.label for e in _feed(ChordSmoother(), sure)] == [
        "C:maj", "G:maj", "C:maj", "F:maj"]
    assert [e.label for e in _feed(ChordSmoother(hold_frames=2), sure)] == ["C:maj", "F:maj"]


def test_a_close_call_keeps_the_shown_chord() -> None:
    sm = ChordSmoother(smoothing=0.0, hold_frames=1, margin=0.2)
    c, am = parse("C:maj").index, parse("A:min").index
    bass = np.log(np.full(13, 1 / 13))

    def frame(pc: float, pam: float) -> np.ndarray:
        p = np.full(157, (1 - pc - pam) / 155)
        p[c], p[am] = pc, pam
        return np.log(p)

    assert sm.step(frame(0.9, 0.05), bass, 0.0) is not None
    for k in range(5):  # Am ahead by less than the margin: C stays
        assert sm.step(frame(0.44, 0.54), bass, 0.1 * k) is None
    assert sm.current is not None and sm.current.label == "C:maj"
    changed = sm.step(frame(0.3, 0.65), bass, 1.0)
    assert changed is not None and changed.label == "A:min"


def test_bass_inversions_and_silence() -> None:
    rng = np.random.default_rng(1)
    c = parse("C:maj").index
    out = outputs_for([c], [60], rng, noise=0.3, bass=[4], bass_gain=9.0)
    events = _feed(ChordSmoother(), out)
    assert events[-1].label == "C:maj/3" and events[-1].bass == 4 and events[-1].root == 0
    quiet = np.zeros(60, bool)
    quiet[30:] = True
    sm = ChordSmoother()
    events = _feed(sm, out, quiet)
    assert events[-1].label == "N" and sm.current.is_no_chord


def test_history_is_a_bounded_ring() -> None:
    rng = np.random.default_rng(2)
    seq = [0, 13, 26, 39, 52, 65, 78]
    sm = ChordSmoother(history=3)
    events = _feed(sm, outputs_for(seq, [30] * 7, rng, noise=0.3))
    assert len(events) == 7 and sm.history == events[-3:] and sm.current == events[-1]
    assert [e.since for e in events] == sorted(e.since for e in events)
    assert sm.top(2)[0][0] == events[-1].label
    with pytest.raises(ValueError):
        ChordSmoother(smoothing=1.0)
    with pytest.raises(ValueError):
        ChordSmoother(hold_frames=0)


def _run(rec: LiveRecognizer, audio: np.ndarray, block: int) -> list[LiveChord]:
    out = []
    for i in range(0, audio.shape[0], block):
        e = rec.push(audio[i: i + block])
        if e is not None:
            out.append(e)
    return out


def test_live_path_on_a_rendered_song() -> None:
    audio, _ = rendered()
    rec = LiveRecognizer(RATE, history=8)
    events = _run(rec, audio, 256)
    labels = [e.label for e in events]
    if labels:  # a smoke model may never leave no-chord
        mir_eval.chord.validate(labels, labels)
    assert [e.since for e in events] == sorted(e.since for e in events)
    assert all(0 <= e.since <= audio.shape[0] / RATE for e in events)
    assert len(rec.history) <= 8 and (not events or rec.current == events[-1])
    # the defaults stay inside the 150 ms budget before the model's reaction
    assert rec.latency_s < 0.15
    # buffers do not grow with the stream
    assert rec._stream._buf.size < 4096 and len(rec.net._buffer) < 16
    assert len(rec._pending_silent) <= rec.net.lookahead + 1
    # after reset the same input gives the same events
    rec.reset()
    assert _run(rec, audio, 256) == events


def test_block_size_and_channels_do_not_change_the_result() -> None:
    audio, _ = rendered()
    a = _run(LiveRecognizer(RATE), audio, 512)
    b = _run(LiveRecognizer(RATE), audio.mean(axis=1), 4096)
    assert [e.label for e in a] == [e.label for e in b]
    # The features are bit-equal; the int8 graph quantizes its inputs per call, so
    # other chunks give other rounding and a near tie may fall one frame later.
    for x, y in zip(a, b, strict=True):
        assert x.since == pytest.approx(y.since, abs=1.01 * feat.HOP / feat.SAMPLE_RATE)


def test_silence_shows_no_chord() -> None:
    rec = LiveRecognizer(48000)
    events = _run(rec, np.zeros((48000 * 2, 2), np.float32), 480)
    assert all(e.is_no_chord for e in events) and rec.current.is_no_chord
    assert rec.current.label == "N" and rec.current.root == -1 and rec.current.bass == -1


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_the_trained_live_model_shows_the_right_chord_most_of_the_time() -> None:
    audio, perf = rendered()
    rec = LiveRecognizer(RATE)
    events = _run(rec, audio, 256)
    shown = [(e.since, e.label) for e in events]
    ref = [(seg.start, seg.end, seg.label) for seg in perf.segments]
    assert majmin_share(ref, shown_at(shown)) >= 0.8  # a half-trained model: 0.98
    pairs = list(itertools.pairwise(events))
    assert all(a.label != b.label for a, b in pairs)
    assert N_INDEX == 156
