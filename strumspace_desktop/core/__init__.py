"""StrumSpace core layer."""
