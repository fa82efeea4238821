"""StrumSpace cloud service: relay, projects, catalogue, analysis API."""

__version__ = "0.1.0"
