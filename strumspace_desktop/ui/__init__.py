"""StrumSpace ui layer."""
