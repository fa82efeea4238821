"""The model's token ids beyond the data vocabulary (tokens.py): one task token per
stream, placed before the stream's header. Kept apart from model.py so that code
which only builds sequences (tasks.py, the ONNX runtime) does not import torch."""

from __future__ import annotations

from models.generation import tokens

TASK_MELODY = len(tokens.VOCAB)
TASK_CHORDS = len(tokens.VOCAB) + 1
TASK_LEAD = len(tokens.VOCAB) + 2  # melody + chords: melody over chords, harmonize
MODEL_VOCAB = len(tokens.VOCAB) + 3
TASKS = {"melody": TASK_MELODY, "chords": TASK_CHORDS, "lead": TASK_LEAD}
PREFIX_LENGTH = 1 + tokens.HEADER_LENGTH  # task token + BOS Key TimeSig
NEVER_PREDICTED = (tokens.PAD, tokens.BOS, TASK_MELODY, TASK_CHORDS, TASK_LEAD)
