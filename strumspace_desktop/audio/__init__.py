"""StrumSpace audio layer."""
