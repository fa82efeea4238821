"""Random edit sequences for the property tests: hypothesis draws plain tuples, and
`apply` turns each into a valid edit of whatever the document holds at that moment."""

from __future__ import annotations

from hypothesis import strategies as st

from strumspace_desktop.core.document import ChordItem, Document, Instrument, Note

BLOB = "cd" * 32
OPS = (
    "add_track",
    "remove_track",
    "rename_track",
    "instrument",
    "mixer",
    "move_track",
    "add_clip",
    "move_clip",
    "remove_clip",
    "add_notes",
    "edit_note",
    "remove_note",
    "tempo",
    "remove_tempo",
    "timesig",
    "marker",
    "remove_marker",
    "loop",
    "chord",
    "region",
    "title",
    "group",
    "effect",
    "edit_effect",
    "remove_effect",
    "master",
    "punch",
    "take",
    "key",
)

op_strategy = st.tuples(
    st.sampled_from(OPS),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 127),
)
ops_strategy = st.lists(op_strategy, min_size=1, max_size=25)


def _pick(items: list, i: int):
    return items[i % len(items)] if items else None


def apply(doc: Document, op: tuple[str, int, int, int]) -> None:
    name, a, b, v = op
    tracks = doc.tracks()
    midi_tracks = [t for t in tracks if t.kind == "midi"]
    clips = [c for c in doc.clips() if c.track_id in {t.id for t in midi_tracks}]
    if name == "add_track":
        kind = ("midi", "audio", "chord")[a % 3]
        doc.add_track(kind, f"t{b}", instrument=Instrument(v, 0, a % 16))
    elif name == "remove_track" and tracks:
        doc.remove_track(_pick(tracks, a).id)
    elif name == "rename_track" and tracks:
        doc.update_track(_pick(tracks, a).id, name=f"n{b}")
    elif name == "instrument" and tracks:
        doc.set_instrument(_pick(tracks, a).id, program=v, bank=b % 300)
    elif name == "mixer" and tracks:
        doc.set_mixer(_pick(tracks, a).id, volume_db=-(b % 60), pan=(v - 64) / 64, mute=bool(a % 2))
    elif name == "move_track" and tracks:
        doc.move_track(_pick(tracks, a).id, b % (len(tracks) + 1))
    elif name == "add_clip" and midi_tracks:
        doc.add_midi_clip(_pick(midi_tracks, a).id, b * 10, 960 + v * 30, f"c{v}")
    elif name == "move_clip" and clips:
        doc.update_clip(_pick(clips, a).id, start=b * 5)
    elif name == "remove_clip" and clips:
        doc.remove_clip(_pick(clips, a).id)
    elif name == "add_notes" and clips:
        doc.add_notes(
            _pick(clips, a).id,
            [
                Note(
                    (v + k) % 128, (b + 97 * k) % 3000, 1 + (a + k) % 900, 1 + (v + k) % 127, k % 16
                )
                for k in range(1 + a % 5)
            ],
        )
    elif name in ("edit_note", "remove_note") and clips:
        clip = _pick(clips, a)
        notes = list(doc.notes(clip.id))
        if notes:
            nid = _pick(notes, b)
            if name == "edit_note":
                doc.update_note(clip.id, nid, pitch=v, start=b % 2000)
            else:
                doc.remove_note(clip.id, nid)
    elif name == "tempo":
        doc.set_tempo((a % 8) * 960, 40 + b % 200)
    elif name == "remove_tempo":
        ticks = [t.tick for t in doc.tempo_changes() if t.tick]
        if ticks:
            doc.remove_tempo(_pick(ticks, a))
    elif name == "timesig":
        doc.set_time_signature((a % 4) * 3840, 1 + v % 12, (1, 2, 4, 8, 16)[b % 5])
    elif name == "marker":
        doc.add_marker(a, f"m{b}")
    elif name == "remove_marker":
        markers = list(doc.markers())
        if markers:
            doc.remove_marker(_pick(markers, a))
    elif name == "loop":
        doc.set_loop(start=a, end=a + b, enabled=bool(v % 2))
    elif name == "chord":
        chord_tracks = [t for t in tracks if t.kind == "chord"]
        if chord_tracks:
            doc.add_chord(
                _pick(chord_tracks, a).id,
                ChordItem(a, a + b, "C:maj", v % 12, (v % 11) / 10, "generated"),
            )
    elif name == "region":
        audio = [t for t in tracks if t.kind == "audio"]
        if audio:
            doc.add_audio_region(_pick(audio, a).id, BLOB, a, 1 + b, offset=v, gain_db=-3.0)
    elif name == "title":
        doc.set_title(f"title {a}")
    elif name == "effect":
        owners = ["master"] + [t.id for t in tracks if t.kind != "chord"]
        kind = ("reverb", "delay", "chorus", "compressor", "eq")[v % 5]
        doc.add_effect(_pick(owners, a), kind, {"mix": (b % 100) / 100}, index=b % 3)
    elif name in ("edit_effect", "remove_effect"):
        effects = doc.all_effects()
        if effects:
            e = _pick(effects, a)
            if name == "remove_effect":
                doc.remove_effect(e.id)
            elif b % 3 == 0:
                doc.move_effect(e.id, v % 3)
            else:
                doc.update_effect(e.id, bypass=bool(v % 2), params={"mix": (b % 100) / 100})
    elif name == "master":
        doc.set_master(volume_db=-(b % 40), limiter=bool(v % 2), limiter_threshold_db=-(a % 30))
    elif name == "punch":
        doc.set_punch(start=a, end=a + b, enabled=bool(v % 2))
    elif name == "key":
        doc.set_song_key(None if v % 5 == 0 else (a % 12, ("major", "minor")[b % 2]))
    elif name == "take" and clips:
        doc.update_clip(_pick(clips, a).id, muted=bool(v % 2), take_group=f"g{b % 3}", take=v)
    elif name == "group":
        # One gesture made of several edits (a drag): one undo step.
        with doc.undo_group():
            for k in range(1 + a % 4):
                doc.set_loop(start=k, end=k + b)
                doc.set_title(f"drag {k}")


def base_document() -> Document:
    """A song with some content whose creation is not undoable (like an opened file)."""
    d = Document.new("base")
    t = d.add_track("midi", "base")
    c = d.add_midi_clip(t, 0, 3840)
    d.add_notes(c, [Note(60 + i, i * 100, 100) for i in range(5)])
    d.add_track("audio", "audio")
    d.add_track("chord", "chords")
    d.clear_undo_history()
    return Document.from_state(d.state())
