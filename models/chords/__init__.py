"""Chord recognition (issue #5): vocabulary, rendered training data and, later, the model.

Qt-free and device-free: the Harte vocabulary (`vocabulary`), progression generators
(`progressions`), a MIDI performance renderer (`performance`), offline FluidSynth
rendering into numpy (`synth_offline`), augmentation (`augment`), SoundFont families and
splits (`soundfonts`, `splits`), evaluation-set manifests (`manifest`) and the command
line that renders them (`python -m models.chords.data`). See DATA.md.
"""
