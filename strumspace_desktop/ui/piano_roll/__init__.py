"""The piano roll: view and edit one MIDI clip's notes (see piano_roll.py)."""

from .piano_roll import PianoRoll

__all__ = ["PianoRoll"]
