"""StrumSpace sync layer."""
