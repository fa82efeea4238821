"""Files dropped on the arrangement: audio files become regions, MIDI files tracks.

The work is core's (core.audio_import checks and stores audio, core.midi_import
merges a MIDI file's tracks); here the drop position picks the track and tick.
Audio goes on the audio track under the drop, or on a new audio track; a MIDI
file's tracks are added from the drop's tick. Each drop is one undo step; a file
that cannot be used raises DropError with a message for the musician and changes
nothing.
"""

from __future__ import annotations

from pathlib import Path

from strumspace_desktop.core.audio_import import AUDIO_SUFFIXES, AudioImportError, import_audio_file
from strumspace_desktop.core.document import DocumentError
from strumspace_desktop.core.document.project_files import Project
from strumspace_desktop.core.midi_import import MIDI_SUFFIXES, MidiImportError, import_midi_into


class DropError(Exception):
    """A dropped file that could not be used; the text is for the musician."""


def accepts(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES or is_midi(path)


def is_midi(path: Path) -> bool:
    return path.suffix.lower() in MIDI_SUFFIXES


def drop_file(project: Project, path: Path, track_id: str | None,
              tick: int) -> tuple[list[str], list[str]]:
    """Import one dropped file at `tick`; audio on `track_id` when that is an audio
    track. Returns (ids of the clips or tracks added, messages for the musician)."""
    doc = project.document
    if is_midi(path):
        try:
            report = import_midi_into(doc, path, tick=tick)
        except MidiImportError as exc:
            raise DropError(str(exc)) from exc
        return report.track_ids, report.messages
    try:
        target = track_id if track_id is not None and doc.track(track_id).kind == "audio" \
            else None
        done = import_audio_file(project, path, tick=tick, track_id=target)
    except (AudioImportError, DocumentError) as exc:
        raise DropError(str(exc)) from exc
    return [done.region_id], list(done.notes)
