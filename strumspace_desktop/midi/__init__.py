"""StrumSpace midi layer."""
