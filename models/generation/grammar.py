"""Constrained decoding for our REMI tokens: which token may come next.

`Grammar` follows a token sequence (the prompt, then what the model writes) and
returns, before each new token, the logit adjustment to add: -inf for every token
that would break the clip, a small bias elsewhere (note density), 0 otherwise. A
sequence sampled under it always decodes (`tokens.decode`) to a playable clip:

    BOS Key TimeSig (the header, given)
    Bar [TimeSig] [Key]       TimeSig/Key only in a prompt: generation keeps the meter
                              and key of the request
    Position_p                p strictly increasing within the bar, p < bar length
    [Chord_X]                 chords and lead streams only; never Chord_N, never the
                              chord already sounding (a chord token is a change)
    [Velocity_v] Pitch Dur    melody and lead streams only; one note per position
                              (the corpus melodies are monophonic) and never inside the
                              previous note (no overlaps), Velocity only if allowed
    ... Bar ... EOS           EOS only between events, after at least one bar, and
                              exactly at the bar limit when there is one (the Bar that
                              would open bar N+1 becomes EOS); every Position must be
                              followed by something (a note, or a chord in the
                              chords/lead streams)

Controls (`Constraints`): the stream ("melody": no chords, "chords": no notes,
"lead": both), a bar limit, keep-in-key (pitches in the key's scale: major, or
natural minor plus the raised 6th and 7th of melodic/harmonic minor; chords whose
tones all lie in that set), a pitch range, caps on notes and on chord changes per
bar, note density (a logit bias: > 1 favours short notes, short gaps and against
skipping the rest of a bar; < 1 the reverse), a chord-tone bias (a logit bonus for
pitches of the sounding chord, half of it off the beat), and forced chords (tick ->
chord: the grammar makes a Position at each of those ticks, the given chord right
after it, and no other chord tokens: a melody over given chords).

The vocabulary is fixed, so every token kind is an id range computed once (numpy
slices); one mask costs a few microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.generation import tokens
from models.generation.harmony import beat_ticks
from models.generation.piece import CHORD_QUALITIES, MAJOR, bar_ticks

_ID = tokens.VOCAB.index()
N_DATA = len(tokens.VOCAB)
BOS, EOS, BAR = tokens.BOS, tokens.EOS, tokens.BAR
TS0 = _ID[f"TimeSig_{tokens.TIME_SIGNATURES[0][0]}/{tokens.TIME_SIGNATURES[0][1]}"]
TS_END = TS0 + len(tokens.TIME_SIGNATURES)
KEY0 = _ID["Key_C"]  # 12 major keys then 12 minor keys
KEY_END = KEY0 + 24
POS0 = _ID["Position_0"]
POS_END = POS0 + tokens.MAX_BAR
CHORD_N = _ID["Chord_N"]
CHORD0 = CHORD_N + 1  # Chord_<root><quality> = CHORD0 + quality * 12 + root
CHORD_END = CHORD0 + 12 * len(CHORD_QUALITIES)
VEL0 = _ID[f"Velocity_{tokens.VELOCITIES[0]}"]
VEL_END = VEL0 + len(tokens.VELOCITIES)
PITCH0 = _ID[f"Pitch_{tokens.PITCH_RANGE[0]}"]
PITCH_END = PITCH0 + tokens.PITCH_RANGE[1] - tokens.PITCH_RANGE[0] + 1
DUR0 = _ID[f"Duration_{tokens.DURATIONS[0]}"]
DUR_END = DUR0 + len(tokens.DURATIONS)
DURATIONS = np.array(tokens.DURATIONS)
PITCHES = np.arange(tokens.PITCH_RANGE[0], tokens.PITCH_RANGE[1] + 1)

STREAMS = ("melody", "chords", "lead")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# Natural minor plus the raised 6th and 7th (melodic and harmonic minor): a minor tune's
# leading tone and its V / V7 / vii° chords stay "in key".
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 9, 10, 11)
DENSITY_RANGE = (0.25, 4.0)
_DENSITY_UNIT = tokens.TPQ / 2  # density biases are counted in eighth notes
# log2 of a duration / of 1 + a gap, in eighth notes: the density bias's scales.
_DUR_LOG = np.log2(DURATIONS / _DENSITY_UNIT).astype(np.float32)
_GAP_LOG = np.log2(1.0 + np.arange(tokens.MAX_BAR + 1) / _DENSITY_UNIT).astype(np.float32)

# Phases: what the last token was.
_HEADER, _BODY, _BAR, _POS, _CHORD, _VEL, _PITCH, _DUR, _DONE = range(9)


def chord_token(root: int, quality: int) -> int:
    return CHORD0 + quality * 12 + root


def chord_of_token(token_id: int) -> tuple[int, int]:
    """(root, quality) of a Chord token other than Chord_N."""
    q, root = divmod(token_id - CHORD0, 12)
    return root, q


def key_token(tonic: int, mode: int) -> int:
    return KEY0 + mode * 12 + tonic


def time_signature_token(numerator: int, denominator: int) -> int:
    return _ID[f"TimeSig_{numerator}/{denominator}"]


def scale_pitch_classes(tonic: int, mode: int) -> frozenset[int]:
    return frozenset((tonic + s) % 12 for s in (MAJOR_SCALE if mode == MAJOR else MINOR_SCALE))


def chord_pitch_classes(root: int, quality: int) -> frozenset[int]:
    return frozenset((root + i) % 12 for i in CHORD_QUALITIES[quality][1])


@dataclass(frozen=True)
class Constraints:
    """What a generated sequence must respect (see the module docstring)."""

    stream: str = "melody"
    end_bar: int | None = None  # the sequence ends (EOS) after exactly this many bars
    keep_in_key: bool = False
    pitch_range: tuple[int, int] = tokens.PITCH_RANGE
    max_notes_per_bar: int | None = None
    max_chords_per_bar: int | None = None  # chord changes the model may write per bar
    density: float = 1.0
    forced_chords: dict[int, int] = field(default_factory=dict)  # abs tick -> Chord token
    chord_tone_bias: float = 0.0  # nats for a pitch in the sounding chord (half off the beat)
    allow_velocity: bool = False  # the corpus has one dynamic: the model never learnt them
    monophonic: bool = True

    def __post_init__(self) -> None:
        if self.stream not in STREAMS:
            raise ValueError(f"stream must be one of {STREAMS}, got {self.stream!r}")
        lo, hi = self.pitch_range
        if not tokens.PITCH_RANGE[0] <= lo <= hi <= tokens.PITCH_RANGE[1]:
            raise ValueError(f"pitch range {lo}..{hi} must lie within {tokens.PITCH_RANGE}")
        if self.end_bar is not None and self.end_bar < 1:
            raise ValueError("end_bar must be at least 1")
        for name in ("max_notes_per_bar", "max_chords_per_bar"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if not DENSITY_RANGE[0] <= self.density <= DENSITY_RANGE[1]:
            raise ValueError(f"density must lie within {DENSITY_RANGE}")
        for tok in self.forced_chords.values():
            if not CHORD0 <= tok < CHORD_END:
                raise ValueError(f"forced chord token {tok} is not a chord")
        if self.forced_chords and self.stream == "melody":
            raise ValueError("forced chords need the chords or lead stream")


class GrammarError(ValueError):
    """A token the grammar does not allow where it stands (a bug in the caller)."""


class Grammar:
    """The state of one sequence. `feed` every token (prompt and generated, header
    included); `allowed()` / `adjustment()` give the next token's mask / logit bias."""

    def __init__(self, constraints: Constraints, vocab_size: int = N_DATA) -> None:
        if vocab_size < N_DATA:
            raise ValueError(f"vocab_size {vocab_size} is smaller than the {N_DATA} data tokens")
        self.c = constraints
        self.vocab_size = vocab_size
        self.notes_allowed = constraints.stream in ("melody", "lead")
        self.chords_allowed = constraints.stream in ("chords", "lead")
        self._forced = sorted(constraints.forced_chords.items())
        self._forced_i = 0
        self.phase = _HEADER
        self.header_seen = 0
        self.bars = 0
        self.meter = (4, 4)
        self.key = (0, MAJOR)
        self.bar_start = 0
        self.bar_len = bar_ticks(4, 4)
        self.position = -1  # within the bar; -1: no Position yet in this bar
        self.note_end = 0  # absolute tick where the last note ends
        self.last_tick = 0  # absolute tick of the last Position (or the bar start)
        self.chord: int | None = None  # the sounding chord token
        self.notes_in_bar = 0
        self.chords_in_bar = 0
        self.note_here = False  # a note already starts at this position
        self.velocity = tokens.DEFAULT_VELOCITY
        self.pitch: int | None = None
        self.duration: int | None = None  # ticks of the last note
        self.generated = 0  # tokens fed since `mark_generation_start`
        self._pitch_cache: dict[tuple[int, int], np.ndarray] = {}
        self._chord_cache: dict[tuple[int, int], np.ndarray] = {}
        self.log_density = float(np.log(constraints.density))

    # ---- state -------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.phase == _DONE

    @property
    def bar_end(self) -> int:
        return self.bar_start + self.bar_len

    def end_tick(self) -> int | None:
        """Where the clip ends under the bar limit (the meter no longer changes)."""
        if self.c.end_bar is None:
            return None
        return self.bar_start + (self.c.end_bar - max(self.bars, 1) + 1) * self.bar_len

    def _next_forced(self) -> int | None:
        """Tick of the next forced chord not yet written (inside the bar limit)."""
        if self._forced_i >= len(self._forced):
            return None
        tick = self._forced[self._forced_i][0]
        end = self.end_tick()
        return None if end is not None and tick >= end else tick

    def feed(self, token: int) -> None:
        """Advance by one token. Lenient for prompts: tokens that decode would skip are
        accepted and ignored, so any encoded piece can be fed."""
        t = int(token)
        if self.phase == _DONE:
            return
        if self.phase == _HEADER:
            if t == BOS:
                return
            if KEY0 <= t < KEY_END:
                self.key = (int((t - KEY0) % 12), int((t - KEY0) // 12))
                return
            if TS0 <= t < TS_END:
                self.meter = tokens.TIME_SIGNATURES[t - TS0]
                self.bar_len = bar_ticks(*self.meter)
                return
            self.phase = _BODY
        if t == EOS:
            self.phase = _DONE
        elif t == BAR:
            if self.bars:
                self.bar_start += self.bar_len
            self.bars += 1
            self.bar_len = bar_ticks(*self.meter)
            self.position = -1
            self.last_tick = self.bar_start
            self.notes_in_bar = 0
            self.chords_in_bar = 0
            self.note_here = False
            self.phase = _BAR
            self._skip_forced_before(self.bar_start)
        elif TS0 <= t < TS_END:
            self.meter = tokens.TIME_SIGNATURES[t - TS0]
            self.bar_len = bar_ticks(*self.meter)
        elif KEY0 <= t < KEY_END:
            self.key = (int((t - KEY0) % 12), int((t - KEY0) // 12))
        elif POS0 <= t < POS_END and self.bars:
            self.position = t - POS0
            self.last_tick = self.bar_start + self.position
            self.note_here = False
            self.phase = _POS
        elif CHORD_N <= t < CHORD_END and self.phase in (_POS, _CHORD, _DUR) \
                and self.position >= 0:
            self.chord = None if t == CHORD_N else t
            self.chords_in_bar += 1
            if self._next_forced() == self.last_tick:
                self._forced_i += 1
            self.phase = _CHORD
        elif VEL0 <= t < VEL_END:
            self.velocity = tokens.VELOCITIES[t - VEL0]
            self.phase = _VEL
        elif PITCH0 <= t < PITCH_END and self.position >= 0:
            self.pitch = t - PITCH0 + tokens.PITCH_RANGE[0]
            self.phase = _PITCH
        elif DUR0 <= t < DUR_END and self.pitch is not None and self.position >= 0:
            d = tokens.DURATIONS[t - DUR0]
            self.duration = d
            self.note_end = max(self.note_end, self.last_tick + d)
            self.notes_in_bar += 1
            self.note_here = True
            self.pitch = None
            self.phase = _DUR
        self.generated += 1

    def feed_all(self, ids: list[int] | np.ndarray) -> Grammar:
        for t in ids:
            self.feed(int(t))
        return self

    def _skip_forced_before(self, tick: int) -> None:
        # Forced chords inside a prompt's bars were the prompt's business.
        while self._forced_i < len(self._forced) and self._forced[self._forced_i][0] < tick:
            self._forced_i += 1

    def start_generation(self) -> None:
        """Call after the prompt: a note of the prompt still sounding does not block the
        new material (it is a new clip), and forced chords before here are dropped."""
        if self.phase == _HEADER:
            self.phase = _BODY
        self.note_end = min(self.note_end, self.last_tick)
        self._skip_forced_before(self.bar_end if self.bars else 0)

    def likely_next(self) -> list[int]:
        """The tokens a plain legato line would write next, a guess for speculative
        decoding (the model's own probabilities accept or reject each): after a pitch,
        the last note's duration again; after a duration, the position where that note
        ends (over the bar line, or the end, when it ends there); after a bar line,
        its first position. Empty where no guess is cheap."""
        out: list[int] = []
        if self.phase == _PITCH and self.duration is not None:
            out.append(DUR0 + tokens.DURATIONS.index(self.duration))
            tick = self.last_tick + self.duration
        elif self.phase == _DUR and self.duration is not None:
            tick = self.last_tick + self.duration
        elif self.phase == _BAR:
            return [POS0]
        else:
            return out
        end = self.end_tick()
        if end is not None and tick >= end:
            out.append(EOS)
        elif tick < self.bar_end:
            out.append(POS0 + tick - self.bar_start)
        elif tick == self.bar_end:
            out += [BAR, POS0]
        return out

    # ---- masks -------------------------------------------------------------------

    def _pitch_mask(self) -> np.ndarray:
        key = self.key if self.c.keep_in_key else (-1, -1)
        m = self._pitch_cache.get(key)
        if m is None:
            lo, hi = self.c.pitch_range
            m = (lo <= PITCHES) & (hi >= PITCHES)
            if self.c.keep_in_key:
                scale = np.array(sorted(scale_pitch_classes(*self.key)))
                m &= np.isin(PITCHES % 12, scale)
            self._pitch_cache[key] = m
        return m

    def _chord_mask(self) -> np.ndarray:
        key = self.key if self.c.keep_in_key else (-1, -1)
        m = self._chord_cache.get(key)
        if m is None:
            m = np.ones(CHORD_END - CHORD0, dtype=bool)
            if self.c.keep_in_key:
                scale = scale_pitch_classes(*self.key)
                for i in range(len(m)):
                    q, root = divmod(i, 12)
                    m[i] = chord_pitch_classes(root, q) <= scale
            self._chord_cache[key] = m
        return m

    def _note_possible_at(self, tick: int) -> bool:
        if not self.notes_allowed:
            return False
        if self.c.max_notes_per_bar is not None and self.notes_in_bar >= self.c.max_notes_per_bar:
            return False
        end = self.end_tick()
        if end is not None and tick >= end:
            return False
        return bool(self._pitch_mask().any())

    def _chord_possible_at(self, tick: int) -> bool:
        if not self.chords_allowed:
            return False
        if self._forced:
            return self._next_forced() == tick
        if self.c.max_chords_per_bar is not None and \
                self.chords_in_bar >= self.c.max_chords_per_bar:
            return False
        m = self._chord_mask()
        if self.chord is not None:
            return int(m.sum()) - int(m[self.chord - CHORD0]) > 0
        return bool(m.any())

    def _position_mask(self) -> np.ndarray:
        """Allowed positions (relative, length MAX_BAR) after the current event: those
        where a note or a chord can follow, never past a forced chord not yet written."""
        out = np.zeros(tokens.MAX_BAR, dtype=bool)
        lo = self.position + 1
        hi = self.bar_len  # exclusive
        nf = self._next_forced()
        if nf is not None and nf < self.bar_end:
            hi = min(hi, nf - self.bar_start + 1)
        if lo >= hi:
            return out
        ticks = self.bar_start + np.arange(lo, hi)
        if self._note_possible_at(int(ticks[0])):
            ok = ticks >= self.note_end if self.c.monophonic else np.ones(len(ticks), bool)
            end = self.end_tick()
            if end is not None:
                ok &= ticks < end
        else:
            ok = np.zeros(len(ticks), bool)
        if self.chords_allowed:
            if self._forced:
                ok |= ticks == nf
            elif self._chord_possible_at(int(ticks[0])):
                ok[:] = True
        out[lo:hi] = ok
        return out

    def _can_close_bar(self) -> bool:
        """No forced chord left inside the current bar."""
        nf = self._next_forced()
        return nf is None or nf >= self.bar_end

    def allowed(self) -> np.ndarray:
        """Boolean mask over the vocabulary (length `vocab_size`): never empty before
        EOS."""
        m = np.zeros(self.vocab_size, dtype=bool)
        ph = self.phase
        if ph == _DONE:
            m[EOS] = True  # finished rows keep asking: EOS again (ignored)
            return m
        if ph in (_HEADER, _BODY):
            m[BAR] = True
            return m
        if ph == _VEL:
            m[PITCH0:PITCH_END] = self._pitch_mask()
            return m
        if ph == _PITCH:
            m[DUR0:DUR_END] = self._duration_mask()
            return m
        here = self.last_tick
        if ph == _POS and self._forced and self._next_forced() == here:
            m[self._forced[self._forced_i][1]] = True  # the given chord, nothing else
            return m
        if ph == _POS or (ph == _CHORD and self.chords_allowed and self.notes_allowed):
            if (self._note_possible_at(here) and not self.note_here
                    and (here >= self.note_end or not self.c.monophonic)):
                m[PITCH0:PITCH_END] = self._pitch_mask()
                if self.c.allow_velocity:
                    m[VEL0:VEL_END] = True
                    m[VEL0 + tokens.VELOCITIES.index(self.velocity)] = False
            if ph == _POS and self._chord_possible_at(here):
                m[CHORD0:CHORD_END] = self._chord_mask()
                if self.chord is not None:
                    m[self.chord] = False
            if ph == _POS:
                if not m.any():  # cannot happen: positions are only offered when usable
                    raise GrammarError(f"nothing can follow Position_{self.position}")
                return m
        # Between events (_BAR, _DUR, _CHORD): another position, the next bar, or the end.
        if ph == _DUR and not self.c.monophonic and self.notes_allowed:
            m[PITCH0:PITCH_END] = self._pitch_mask()
        m[POS0:POS_END] = self._position_mask()
        if self._can_close_bar():
            if self.c.end_bar is None:
                m[BAR] = True
                m[EOS] = self._next_forced() is None
            elif self.bars < self.c.end_bar:
                m[BAR] = True
            else:
                m[EOS] = True
        if not m.any():
            raise GrammarError("no token allowed (a forced chord cannot be reached)")
        return m

    def _duration_mask(self) -> np.ndarray:
        end = self.end_tick()
        if end is None:
            return np.ones(len(DURATIONS), dtype=bool)
        room = end - self.last_tick
        return max(room, int(DURATIONS[0])) >= DURATIONS

    def choices(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(allowed token ids, their bias or None): what sampling needs, at a fraction
        of the cost of a full-vocabulary adjustment."""
        idx = np.flatnonzero(self.allowed())
        bias = self._density_bias(idx)
        ctb = self.c.chord_tone_bias
        if ctb and self.chord is not None and self.phase in (_POS, _CHORD, _VEL):
            pitch = (idx >= PITCH0) & (idx < PITCH_END)
            if pitch.any():
                root, q = chord_of_token(self.chord)
                tones = np.isin(PITCHES % 12, sorted(chord_pitch_classes(root, q)))
                beat = beat_ticks(*self.meter)
                w = ctb if self.position % beat == 0 else ctb / 2
                bias = np.zeros(len(idx), np.float32) if bias is None else bias
                bias[pitch] += np.float32(w) * tones[idx[pitch] - PITCH0]
        return idx, bias

    def _density_bias(self, idx: np.ndarray) -> np.ndarray | None:
        a = self.log_density
        if a == 0.0 or self.phase in (_DONE, _HEADER, _BODY, _VEL):
            return None
        if self.phase == _PITCH:
            return (-a * _DUR_LOG[idx - DUR0]).astype(np.float32)
        bias = np.zeros(len(idx), np.float32)
        ref = max(self.last_tick, self.note_end) if self.notes_allowed else self.last_tick
        pos = (idx >= POS0) & (idx < POS_END)
        if pos.any():
            gap = np.maximum(idx[pos] - POS0 - (ref - self.bar_start), 0)
            bias[pos] = -a * _GAP_LOG[gap]
        bias[(idx == BAR) | (idx == EOS)] = -a * _GAP_LOG[max(self.bar_end - ref, 0)]
        return bias

    def adjustment(self) -> np.ndarray:
        """Float32 logit adjustment over the vocabulary: -inf where not allowed, the
        density bias elsewhere."""
        idx, bias = self.choices()
        adj = np.full(self.vocab_size, -np.inf, dtype=np.float32)
        adj[idx] = 0.0 if bias is None else bias
        return adj
