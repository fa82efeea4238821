"""Symbolic music data and baselines for AI generation (issue #6).

Qt-free and device-free: the data pipeline (music21 corpus -> cached note/chord
dataset), the REMI-style tokenizer, deduplication and splits, and the n-gram
(interpolated modified Kneser-Ney) yardstick the transformer must beat.
"""
