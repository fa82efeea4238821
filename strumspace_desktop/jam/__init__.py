"""StrumSpace jam layer."""
