"""Chords in the main window (issue #5, the UI): the Chords menu and `ChordTools`.

- `live_panel.LiveChordPanel` in `tools.LiveChordDock` (Chords > Live Chords, F4): the
  chord played into the audio input, large, with its confidence, the next-chord hint
  and a strip of recent chords; it listens only while shown and Listen is on.
- `notation.ChordNamer`: chord names in the chosen notation (C / Cmaj7 / C△7), sharps
  or flats (by key or forced) and capo shapes, from `AppSettings.chords`; the live
  display and the chord lane (`ArrangeCanvas.chord_namer`) both use it.
  `names_dialog.ChordNamesDialog` (Chords > Chord Names…) edits the settings.
- `analysis_actions.ChordAnalysisActions`: analyse a file or the selected audio clip
  into the chord track (progress, Cancel, one undo step, key/tempo offered), and
  Export Chords… (.lab, JSON, chart).
"""

from strumspace_desktop.ui.chords.tools import ChordTools, LiveChordDock

__all__ = ["ChordTools", "LiveChordDock"]
