"""analyze / analyze_file with the committed ONNX model on FluidSynth renders: what
holds for any model (tiling, labels, N on silence, chunking, formats, errors), and
accuracy only with the trained model."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import mir_eval
import numpy as np
import pytest
import soundfile as sf
import soxr
from chords_runtime_support import (
    RATE,
    REAL_MODEL_REASON,
    is_real_model,
    model_version,
    rendered,
)

from cloud.analysis.schema import AnalysisDoc
from models.chords import formats
from models.chords.runtime import (
    Analysis,
    AnalysisCancelled,
    AnalysisError,
    analyze,
    analyze_file,
    change_onsets,
)
from models.chords.vocabulary import parse


def _check(a: Analysis, duration: float) -> None:
    assert a.duration == pytest.approx(duration, abs=1e-6)
    segs = a.segments
    assert segs and segs[0].start == 0.0 and segs[-1].end == pytest.approx(duration)
    for x, y in itertools.pairwise(segs):
        assert x.end == pytest.approx(y.start) and y.end > y.start and x.label != y.label
    labels = [s.label for s in segs]
    mir_eval.chord.validate(labels, labels)
    for s in segs:
        c = parse(s.label)
        assert (s.root, s.bass) == (c.root, c.bass_pc) and 0 <= s.confidence <= 1
    AnalysisDoc.model_validate_json(a.to_json())  # the document validates
    assert Analysis.from_json(a.to_json()).segments == [
        type(s)(round(s.start, 6), round(s.end, 6), s.label, s.root, s.quality, s.bass,
                round(s.confidence, 4)) for s in segs]
    assert a.model_version == model_version()


def test_a_rendered_song_gives_tiled_valid_segments_and_beats() -> None:
    audio, _ = rendered()
    a = analyze(audio, RATE)
    _check(a, audio.shape[0] / RATE)
    # 1 s lead-in and 1.5 s tail of silence: no-chord there, whatever the model
    assert a.segments[0].label == "N" and a.segments[0].end >= 0.9
    assert a.segments[-1].label == "N" and a.segments[-1].start <= a.duration - 0.5
    # librosa's tracker on our onset envelope finds the 110 bpm pulse (or its octave)
    assert a.tempo is not None
    assert min(abs(a.tempo / f - 110) for f in (0.5, 1, 2)) < 6
    assert all(0 <= b <= a.duration for b in a.beats)
    assert set(a.downbeats) <= set(a.beats)


def test_silence_is_one_no_chord_segment() -> None:
    for n in (0, 100, RATE * 5):
        a = analyze(np.zeros(n, np.float32), RATE)
        if n == 0:
            assert a.segments == [] and a.duration == 0
            continue
        assert [s.label for s in a.segments] == ["N"]
        assert a.segments[0].end == pytest.approx(n / RATE)
        assert a.key is None and a.tempo is None and a.beats == []


def test_mono_multichannel_and_any_rate() -> None:
    audio, _ = rendered()
    stereo = analyze(audio, RATE)
    mono = analyze(audio.mean(axis=1), RATE)
    assert mono.segments == stereo.segments
    # channels first, six channels, 48 kHz, int16: all accepted
    import soxr

    up = soxr.resample(audio, RATE, 48000).astype(np.float32)
    six = np.repeat(up, 3, axis=1).T.copy()
    a = analyze((six * 20000).astype(np.int16), 48000)
    _check(a, up.shape[0] / 48000)
    odd = analyze(soxr.resample(audio, RATE, 7919), 7919)
    _check(odd, odd.duration)


def _agreement(a: Analysis, b: Analysis) -> float:
    grid = np.arange(0, a.duration, 0.01)

    def lab(x: Analysis) -> list[str]:
        out = []
        for t in grid:
            out.append(next(s.label for s in x.segments if s.start <= t < s.end + 1e-9))
        return out

    return float(np.mean([p == q for p, q in zip(lab(a), lab(b), strict=True)]))


def test_chunked_analysis_agrees_with_one_chunk() -> None:
    audio, _ = rendered(repeats=4)  # ~35 s
    whole = analyze(audio, RATE, chunk_seconds=600)
    chunked = analyze(audio, RATE, chunk_seconds=5)
    _check(chunked, whole.duration)
    # the recurrent layers see 4 s of context each side of a chunk, not the whole clip
    assert _agreement(whole, chunked) >= 0.95
    assert whole.beats == chunked.beats  # onset envelopes are computed identically


@pytest.mark.parametrize("decoder", ["hmm", "ctc", "frames"])
def test_decoding_in_windows_agrees_with_one_window(monkeypatch: pytest.MonkeyPatch,
                                                     decoder: str) -> None:
    from models.chords import runtime

    audio, _ = rendered(repeats=4)
    whole = analyze(audio, RATE, decoder=decoder)
    # windows of 12 s committed up to a boundary 5 s before their end (normally 120/20 s)
    monkeypatch.setattr(runtime, "DECODE_WINDOW_S", 12.0)
    monkeypatch.setattr(runtime, "DECODE_KEEP_S", 5.0)
    windowed = analyze(audio, RATE, decoder=decoder, chunk_seconds=4)
    _check(windowed, whole.duration)
    # CTC beam search keeps or drops a chord whose label posteriors sit near the
    # pruning level, and a window's context can tip one such chord: the 2026-11-26
    # evening model drops this clip's A:min in two of its three passes over the whole
    # clip and in all three in 12-s windows (2.2 s of 36 s, agreement 0.94). The
    # frame-based decoders agree to 0.999 or better.
    assert _agreement(whole, windowed) >= (0.9 if decoder == "ctc" else 0.99)
    # a window holding one long chord (silence here) is cut, not grown without end
    sizes: list[int] = []
    real = runtime._Pipeline._decode

    def spy(self: runtime._Pipeline, final: bool) -> None:
        sizes.append(self.pending_len)
        real(self, final)

    monkeypatch.setattr(runtime._Pipeline, "_decode", spy)
    silence = analyze(np.zeros(RATE * 60, np.float32), RATE, decoder=decoder, chunk_seconds=4)
    assert [s.label for s in silence.segments] == ["N"]
    assert max(sizes) <= (2 * 12.0 + 4) * 11025 / 256 + 1


def test_progress_rises_to_one_and_cancel_stops() -> None:
    audio, _ = rendered(repeats=4)
    seen: list[float] = []
    analyze(audio, RATE, chunk_seconds=5, progress=seen.append)
    assert len(seen) >= 7 and seen[-1] == 1.0
    assert all(0 <= p <= 1 for p in seen) and seen == sorted(seen)
    calls = []

    def stop_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(AnalysisCancelled):
        analyze(audio, RATE, chunk_seconds=5, cancel=stop_after_two)
    event = threading.Event()
    event.set()
    with pytest.raises(AnalysisCancelled):
        analyze(audio, RATE, chunk_seconds=5, cancel=event)


def test_clipping_noise_and_nan_give_an_answer() -> None:
    audio, _ = rendered()
    _check(analyze(np.clip(audio * 30, -1, 1), RATE), audio.shape[0] / RATE)
    bad = audio.copy()
    bad[1000:2000] = np.nan
    _check(analyze(bad, RATE), audio.shape[0] / RATE)
    noise = np.random.default_rng(0).normal(0, 0.1, RATE * 4).astype(np.float32)
    a = analyze(noise, RATE)
    _check(a, 4.0)
    assert [s.label for s in a.segments] == ["N"]  # the noise gate, whatever the model


def test_the_noise_gate_leaves_noisy_music_alone() -> None:
    from models.chords import features as feat
    from models.chords.runtime import noise_frames, silent_frames

    audio, perf = rendered()
    x = audio.mean(axis=1)
    rng = np.random.default_rng(1)
    noisy = x + rng.normal(0, np.sqrt((x**2).mean() / 10 ** 1.5), x.size).astype(np.float32)
    f = feat.features(noisy, RATE)
    t = np.asarray(feat.frame_time(np.arange(f.shape[0])))
    chords = [s for s in perf.segments if s.label != "N"]
    # the music, half a second away from the noise-only lead-in and tail
    music = (t > chords[0].start + 0.5) & (t < chords[-1].end - 0.5)
    assert not noise_frames(f)[music].any()  # 15 dB SNR: the training data's worst
    # nor does the silence gate cut the clean music between strums
    assert not silent_frames(feat.features(x, RATE))[music].any()


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_files_of_each_format(tmp_path: Path, fmt: str) -> None:
    audio, _ = rendered()
    path = tmp_path / f"song.{fmt.lower()}"
    sf.write(path, audio, RATE, format=fmt)
    seen: list[float] = []
    a = analyze_file(path, progress=seen.append)
    _check(a, sf.info(str(path)).frames / RATE)
    assert a.source == path.name and seen[-1] == 1.0
    if fmt in ("WAV", "FLAC"):  # lossless: the same answer as the array
        ref = analyze(np.asarray(sf.read(path, dtype="float32")[0]), RATE)
        assert [s.label for s in a.segments] == [s.label for s in ref.segments]


def test_damaged_and_missing_files_raise_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n" * 50)
    for path in (junk, empty, text, tmp_path / "missing.wav"):
        with pytest.raises(AnalysisError, match=path.name):
            analyze_file(path)
    bytes_ = tmp_path / "bytes.wav"
    bytes_.write_bytes(b"garbage")
    with pytest.raises(AnalysisError) as seven:
        analyze_file(bytes_)
    # libsndfile's reason, not a fallback decoder's wordless exception type
    assert "not a readable audio file" in str(seven.value)
    assert "Error" not in str(seven.value), seven.value
    header_only = tmp_path / "header.wav"
    sf.write(header_only, np.zeros(0, np.float32), RATE)
    with pytest.raises(AnalysisError, match="holds no audio"):
        analyze_file(header_only)
    with pytest.raises(AnalysisError, match="is a folder, not an audio file"):
        analyze_file(tmp_path)
    with pytest.raises(AnalysisError, match=r"missing\.wav: no such file"):
        analyze_file(tmp_path / "missing.wav")


@pytest.mark.parametrize(("fmt", "subtype", "rate"), [
    ("WAV", "PCM_16", RATE), ("AIFF", "PCM_24", RATE), ("FLAC", "PCM_16", RATE),
    ("OGG", "VORBIS", RATE), ("OGG", "OPUS", 48000), ("MP3", "MPEG_LAYER_III", RATE)])
def test_a_cut_file_is_refused_not_analyzed_in_part(tmp_path: Path, fmt: str, subtype: str,
                                                    rate: int) -> None:
    audio, _ = rendered()
    if rate != RATE:
        audio = soxr.resample(audio, RATE, rate)
    good = tmp_path / f"song-{subtype}.{fmt.lower()}"
    sf.write(good, audio, rate, format=fmt, subtype=subtype)
    assert analyze_file(good).duration == pytest.approx(len(audio) / rate, abs=0.01)
    data = good.read_bytes()
    for frac in (0.5, 0.98):  # half of it, and all but its last moments
        cut = tmp_path / f"cut{int(frac * 100)}-{good.name}"
        cut.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(AnalysisError, match="truncated or damaged") as info:
            analyze_file(cut)
        assert cut.name in str(info.value)


def test_beat_sync_puts_changes_on_beats() -> None:
    audio, _ = rendered()
    a = analyze(audio, RATE, beat_sync=True)
    _check(a, audio.shape[0] / RATE)
    assert a.beat_sync
    beats = np.asarray(a.beats)
    for s in a.segments[1:]:
        gap = np.abs(beats - s.start).min()
        assert gap < 1e-6 or gap > 0.12 - 1e-6


@pytest.mark.parametrize("decoder", ["ctc", "frames"])
def test_every_decoder_gives_the_same_kind_of_answer(decoder: str) -> None:
    audio, _ = rendered()
    a = analyze(audio, RATE, decoder=decoder)
    _check(a, audio.shape[0] / RATE)
    assert a.decoder == decoder
    assert analyze(audio, RATE).decoder == "hmm"  # the default
    with pytest.raises(ValueError, match="decoder"):
        analyze(audio, RATE, decoder="viterbi")


def test_every_format_renders() -> None:
    audio, _ = rendered()
    a = analyze(audio, RATE)
    for fmt in formats.FORMATS:
        assert formats.render(a, fmt).endswith("\n")


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
def test_the_trained_model_recognizes_rendered_songs() -> None:
    # (template, tonic, GM program, expected key or None for the blues' mixolydian)
    songs = [("pop/axis", 0, 0, "C major"), ("jazz/ii_V_I", 3, 4, "Eb major"),
             ("rock/blues12", 7, 24, None)]
    scores = []
    for template, tonic, program, key in songs:
        audio, perf = rendered(template, tonic, 2, 100.0, program)
        a = analyze(audio, RATE)
        ref_iv = np.array([[s.start, s.end] for s in perf.segments])
        est_iv = np.array([[s.start, s.end] for s in a.segments])
        sc = mir_eval.chord.evaluate(ref_iv, [s.label for s in perf.segments], est_iv,
                                     [s.label for s in a.segments])
        # a half-trained model scored 0.99, 0.78 (Eb6 heard as Cm7: the same notes) and
        # 0.99 majmin on these three
        assert sc["majmin"] >= 0.7, (template, sc)
        scores.append(sc["majmin"])
        if key is not None:
            assert a.key is not None and a.key.label == key
    assert np.mean(scores) >= 0.85


# --- key, tempo and bars (key_tempo) --------------------------------------------


@pytest.mark.parametrize("shift", range(12))
def test_key_of_chord_progressions_in_every_key(shift: int) -> None:
    from models.chords.key_tempo import detect_key

    major = ["C:maj", "A:min", "F:maj", "G:7", "C:maj", "D:min7", "G:maj", "C:maj"]
    minor = ["A:min", "D:min", "E:7", "A:min", "F:maj", "E:7", "A:min"]
    for labels, tonic, mode in ((major, 0, "major"), (minor, 9, "minor")):
        chords = [(2.0, parse(lab).transpose(shift)) for lab in labels]
        key = detect_key(chords)
        assert key is not None and (key.tonic, key.mode) == ((tonic + shift) % 12, mode)
    assert detect_key([(1.0, parse("N"))]) is None


@pytest.mark.parametrize("bpm", [72.0, 83.3, 96.0, 128.0, 132.0, 150.0])
def test_tempo_and_beats_of_a_click_track(bpm: float) -> None:
    from models.chords.key_tempo import track_beats

    fps = 11025 / 256
    env = np.zeros(int(fps * 20), np.float32)
    period = 60.0 / bpm
    clicks = np.arange(0.3, 20 - 0.1, period)
    env[np.round(clicks * fps).astype(int)] = 1.0
    tempo, beats = track_beats(env, fps)
    # Finer than the autocorrelation's whole-frame lags (132 bpm lies between 129.2
    # and 136.0): the tempo is the line through the beats.
    assert tempo == pytest.approx(bpm, rel=0.003)
    inner = beats[(beats > 2) & (beats < 18)]
    assert np.abs(inner[:, None] - clicks[None, :]).min(axis=1).max() < 1.5 / fps
    assert track_beats(np.zeros(500, np.float32), fps) == (None, pytest.approx(np.zeros(0)))


def test_downbeats_follow_the_chord_changes() -> None:
    from models.chords.key_tempo import downbeats

    beats = np.arange(0.5, 20, 0.5)
    changes = beats[1::4] + 0.02  # chords change on every fourth beat from the second
    assert np.allclose(downbeats(beats, changes.tolist(), 4), beats[1::4])
    assert np.allclose(downbeats(beats, [], 4), beats[::4])
    assert downbeats(np.zeros(0), [1.0]).size == 0


def test_bar_length_follows_where_the_harmony_changes() -> None:
    from models.chords.key_tempo import beats_per_bar

    beats = np.arange(0.5, 40, 0.5)
    for every, meter in ((3, 3), (4, 4), (8, 4), (2, 4), (1, 4)):
        changes = beats[2::every] + 0.03  # from the third beat: any phase will do
        assert beats_per_bar(beats, changes.tolist()) == meter, every
    # a waltz whose third chord lasts two bars (3 + 3 + 6 beats)
    waltz = [i for i in range(2, beats.size) if (i - 2) % 12 in (0, 3, 6)]
    assert beats_per_bar(beats, beats[waltz].tolist()) == 3
    # too little to go by: 4, the common case
    assert beats_per_bar(beats, (beats[[3, 6, 9]]).tolist()) == 4
    assert beats_per_bar(beats[:5], beats[1:5:3].tolist()) == 4
    assert beats_per_bar(np.zeros(0), [1.0, 2.0]) == 4
    assert beats_per_bar(beats, (beats[::3] + 0.25).tolist()) == 4  # all off the beat


def test_beats_off_the_chord_changes_move_onto_them() -> None:
    from models.chords.key_tempo import align_to_changes

    grid = np.arange(1.0, 30.0, 0.5)  # the played beats
    tracked = grid + 0.17  # an off-beat accent followed: a third of a beat late
    changes = grid[::4] + np.random.default_rng(0).normal(0, 0.01, grid[::4].size)
    assert np.allclose(align_to_changes(tracked, changes.tolist()), grid, atol=0.02)
    # Beats already on the changes, or changes that do not agree, stay as tracked.
    assert np.array_equal(align_to_changes(grid, changes.tolist()), grid)
    scattered = grid[::4] + np.random.default_rng(1).uniform(0, 0.5, grid[::4].size)
    assert np.array_equal(align_to_changes(tracked, scattered.tolist()), tracked)
    assert np.array_equal(align_to_changes(tracked, changes[:3].tolist()), tracked)
    # A shift back before the clip's start drops that beat.
    early = align_to_changes(np.arange(0.1, 10, 0.5), (np.arange(0.0, 10, 2.0) + 0.4).tolist())
    assert early[0] >= 0 and np.allclose(np.diff(early), 0.5)


@pytest.mark.skipif(not is_real_model(), reason=REAL_MODEL_REASON)
@pytest.mark.parametrize("template", ["pop/axis", "folk/waltz"])
@pytest.mark.parametrize("meter", [3, 4])
def test_a_song_in_three_is_barred_in_three_and_one_in_four_in_four(template: str,
                                                                     meter: int) -> None:
    audio, perf = rendered(template, 2, 3, 120.0, beats_per_bar=meter)
    a = analyze(audio, RATE)
    assert a.beats_per_bar == meter
    bar_lines = 1.0 + np.arange(0, perf.duration, meter * 0.5)  # 1 s lead-in, 120 bpm
    bar_lines = bar_lines[bar_lines < perf.duration - 1.5]
    assert mir_eval.beat.f_measure(bar_lines, np.array(a.downbeats)) >= 0.9
    assert formats.to_chart(a).splitlines()[0].endswith(f"Time: {meter}/4")


def test_change_onsets_measure_the_bass_band_rising() -> None:
    from models.chords import features as feat

    f = np.zeros((6, feat.N_BINS), np.float32)
    low = feat.bin_midi() < feat.CROSSOVER_MIDI
    f[2:, np.flatnonzero(low)[:3]] = 2.0  # three bass bins come in at frame 2
    f[4, ~low] = 5.0  # the upper band alone (a melody note) counts for nothing
    f[5, np.flatnonzero(low)[0]] = 0.5  # and a fall is not an onset
    onsets = change_onsets(f)
    assert onsets.tolist() == [0.0, 0.0, 6.0, 0.0, 0.0, 0.0]
    assert change_onsets(np.zeros((0, feat.N_BINS), np.float32)).shape == (0,)
