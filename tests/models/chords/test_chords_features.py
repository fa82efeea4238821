"""The log-frequency features: pitch lands in its bin, any input shape or rate works,
and the streaming path gives the offline frames."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st

from models.chords import features as feat


def _tone(midi: float, seconds: float = 1.0, sr: int = feat.SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * 2 ** ((midi - 69) / 12) * t)).astype(np.float32)


def test_constants_describe_the_frame_grid() -> None:
    assert feat.N_BINS == 243
    assert pytest.approx(43.066, abs=1e-3) == feat.FPS
    assert feat.frame_time(43) == pytest.approx(43 * 256 / 11025)
    midis = feat.bin_midi()
    assert midis[1] == feat.LOWEST_MIDI and midis[-2] == feat.HIGHEST_MIDI
    # Frames look at most 49 ms ahead of their centre (live latency).
    assert feat.LATENCY_S < 0.05


@pytest.mark.parametrize("midi", [31, 40, 45, 52, 60, 69, 84, 100])
def test_a_pure_tone_peaks_in_its_own_bin(midi: int) -> None:
    x = feat.features(_tone(midi), feat.SAMPLE_RATE)
    mid = x[10:-10].mean(axis=0)
    # Below E3 the 186 ms window's 5.4 Hz resolution is coarser than a third of a
    # semitone: the peak may land on a neighbouring bin of the same note.
    tolerance = 1 if midi < feat.CROSSOVER_MIDI else 0
    assert abs(int(mid.argmax()) - (3 * (midi - feat.LOWEST_MIDI) + 1)) <= tolerance


def test_shape_dtype_and_frame_count() -> None:
    x = feat.features(np.random.default_rng(0).normal(0, 0.1, 22050).astype(np.float32), 22050)
    assert x.dtype == np.float32 and x.shape == (feat.n_frames(11025), feat.N_BINS)
    assert np.isfinite(x).all() and (x >= 0).all()


def test_silence_is_zero_and_short_input_gives_no_frames() -> None:
    assert not feat.features(np.zeros(44100, np.float32), 44100).any()
    for n in (0, 1, 100):
        out = feat.features(np.zeros(n, np.float32), 48000)
        assert out.shape == (0, feat.N_BINS)


def test_multichannel_and_rates_give_the_same_picture() -> None:
    tone = _tone(57, 1.0, 48000)
    stereo = np.stack([tone, tone], axis=1)
    a = feat.features(stereo, 48000)
    b = feat.features(stereo.T, 48000)  # channels first
    c = feat.features(soxr.resample(tone, 48000, 22050), 22050)
    assert np.array_equal(a, b)
    assert a.shape[0] == c.shape[0]
    assert int(a[10:-10].mean(0).argmax()) == int(c[10:-10].mean(0).argmax())


def test_integer_pcm_and_non_finite_samples_are_accepted() -> None:
    pcm = (_tone(60) * 32767).astype(np.int16)
    a = feat.features(pcm, feat.SAMPLE_RATE)
    b = feat.features(_tone(60), feat.SAMPLE_RATE)
    assert np.abs(a - b).max() < 0.01
    bad = _tone(60)
    bad[100:200] = np.nan
    assert np.isfinite(feat.features(bad, feat.SAMPLE_RATE)).all()


def test_bad_arguments_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        feat.features(np.zeros(1000, np.float32), 0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        feat.features(np.zeros((2, 2, 2), np.float32), 22050)


def test_the_wide_range_contains_the_standard_range() -> None:
    x = np.random.default_rng(1).normal(0, 0.1, 30000).astype(np.float32)
    a = feat.features(x, 22050)
    wide = feat.features_range(x, 22050, feat.LOWEST_MIDI - 6, feat.HIGHEST_MIDI + 4)
    assert np.array_equal(wide[:, 18:18 + feat.N_BINS], a)


@settings(max_examples=12, deadline=None)
@given(rate=st.sampled_from([11025, 22050, 44100, 48000]), quality=st.sampled_from(["HQ", "LQ"]),
       seconds=st.floats(0.0, 2.0), seed=st.integers(0, 1000))
def test_streaming_gives_the_offline_frames(rate: int, quality: str, seconds: float,
                                            seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, int(seconds * rate)).astype(np.float32)
    offline = feat.features(x, rate, quality)
    stream = feat.StreamingFeatures(rate, quality)
    parts, i = [], 0
    while i < x.size:
        n = int(rng.integers(1, 4000))
        parts.append(stream.push(x[i:i + n]))
        i += n
    parts.append(stream.flush())
    got = np.concatenate(parts)
    assert got.shape == offline.shape
    np.testing.assert_allclose(got, offline, atol=1e-4)
    assert stream.frames_emitted == offline.shape[0]


def test_streaming_emits_a_frame_once_its_window_has_arrived() -> None:
    stream = feat.StreamingFeatures(feat.SAMPLE_RATE)
    # Frame 0 needs LATENCY_SAMPLES after its centre (49 ms): no resampler lag at
    # SAMPLE_RATE, no further buffering.
    assert stream.push(np.zeros(feat.LATENCY_SAMPLES - 1, np.float32)).shape[0] == 0
    assert stream.push(np.zeros(1, np.float32)).shape[0] == 1
    assert stream.push(np.zeros(feat.HOP - 1, np.float32)).shape[0] == 0
    assert stream.push(np.zeros(1, np.float32)).shape[0] == 1
    stream.flush()
    with pytest.raises(RuntimeError):
        stream.push(np.zeros(10, np.float32))
    stream.reset()
    assert stream.push(np.zeros(4096, np.float32)).shape[0] > 0
