"""Chord-recognition peers, run inside their own venv (/work/peers-venv, see
models/chords/PEERS.md), never imported by the project's own code."""
