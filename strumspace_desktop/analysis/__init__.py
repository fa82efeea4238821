"""StrumSpace analysis layer."""
