"""Chord analysis in the app: the model runtime (`models.chords`) wired to the engine
and the song, without Qt.

- Live: `live.LiveChordService` runs `live_worker.run_live_worker` in a process of its
  own (multiprocessing "spawn"), which reads the engine's shared input ring (mean of
  the chosen input channels, all by default) and feeds `models.chords.live.
  LiveRecognizer`; it reports `live_events.LiveChord`, `LiveStatus` and `LiveStats`.
  The ring's writer (the audio callback) never waits for it; a worker that falls
  behind skips to the newest audio. `ui.adapter.EngineAdapter.attach_live_chords`
  makes the service follow the engine (stream opened, lost, recovered) and emits
  `live_chord` / `live_chord_status`.
- Files: `file_job.FileAnalysisJob` analyses one file in a worker process (progress,
  cancel by terminating it, errors as messages); `EngineAdapter.watch_analysis` emits
  `analysis_progress` / `analysis_finished` / `analysis_failed`.
- Song: `chord_track.write_analysis` puts an analysis into a chord track as one undo
  step (seconds to ticks through the tempo map; recognized items replaced in the
  analysed range, hand-made ones kept); key and tempo are returned for the caller to offer.
- Command line: `cli` (`strumspace analyze FILE... [--format lab|json|chart] [-o OUT]
  [--beat-sync]`).
"""
