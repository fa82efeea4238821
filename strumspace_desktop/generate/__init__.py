"""StrumSpace generate layer."""
