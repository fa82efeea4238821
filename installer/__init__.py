"""Packaging helpers (Briefcase) and platform installers."""
