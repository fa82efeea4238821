"""The chord-analysis JSON schema: what it accepts and what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from cloud.analysis.schema import SCHEMA_VERSION, AnalysisDoc, ChordSegment


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "model_version": "m1", "duration": 4.0,
        "key": {"tonic": "Bb", "mode": "major", "confidence": 0.8}, "tempo": 120.0,
        "beats": [0.5, 1.0, 1.5], "downbeats": [0.5], "beats_per_bar": 4,
        "segments": [
            {"start": 0.0, "end": 1.0, "label": "N", "root": -1, "quality": "",
             "bass": -1, "confidence": 1.0},
            {"start": 1.0, "end": 2.5, "label": "Bb:maj/3", "root": 10, "quality": "maj",
             "bass": 2, "confidence": 0.7},
            {"start": 2.5, "end": 4.0, "label": "G:min7", "root": 7, "quality": "min7",
             "bass": 7, "confidence": 0.6},
        ],
        "decoder": "ctc", "beat_sync": False, "source": "song.wav"}
    doc.update(over)
    return doc


def test_a_valid_document_round_trips() -> None:
    doc = AnalysisDoc.model_validate(_doc())
    again = AnalysisDoc.model_validate_json(doc.model_dump_json())
    assert again == doc and again.key is not None and again.key.label == "Bb major"
    schema = AnalysisDoc.model_json_schema()
    assert {"segments", "schema_version", "key", "beats"} <= set(schema["properties"])


@pytest.mark.parametrize("change, message", [
    ({"schema_version": 2}, "schema_version"),
    ({"surprise": 1}, "surprise"),
    ({"beats": [1.0, 0.5]}, "ascending"),
    ({"duration": 3.0}, "after the duration"),
    ({"key": {"tonic": "H", "mode": "major", "confidence": 0.5}}, "tonic"),
    ({"decoder": "magic"}, "decoder"),
])
def test_bad_documents_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnalysisDoc.model_validate(_doc(**change))


def _segment(**over: Any) -> dict[str, Any]:
    seg = {"start": 1.0, "end": 2.0, "label": "A:min/b3", "root": 9, "quality": "min",
           "bass": 0, "confidence": 0.5}
    seg.update(over)
    return seg


@pytest.mark.parametrize("change, message", [
    ({"label": "A:minor"}, "vocabulary"),
    ({"label": "A:min"}, "disagrees"),
    ({"root": 3}, "disagrees"),
    ({"end": 1.0}, "not after"),
    ({"confidence": 1.5}, "confidence"),
    ({"bass": 12}, "bass"),
])
def test_bad_segments_are_refused(change: dict[str, Any], message: str) -> None:
    ChordSegment.model_validate(_segment())
    with pytest.raises(ValidationError, match=message):
        ChordSegment.model_validate(_segment(**change))


def test_overlapping_segments_are_refused() -> None:
    doc = _doc()
    doc["segments"][2]["start"] = 2.0
    with pytest.raises(ValidationError, match="before the previous"):
        AnalysisDoc.model_validate(doc)


def test_the_minimal_document() -> None:
    doc = AnalysisDoc.model_validate({"model_version": "m", "duration": 0.0})
    assert json.loads(doc.model_dump_json())["schema_version"] == SCHEMA_VERSION
    assert doc.segments == [] and doc.key is None and doc.tempo is None
