"""The document's error types (here so that model.py and its mixins share them)."""

from __future__ import annotations


class DocumentError(ValueError):
    """An edit that the document refuses (unknown id, value out of range)."""


class ReadOnlyError(DocumentError):
    """An edit of a document opened read-only (for instance a newer schema version)."""
