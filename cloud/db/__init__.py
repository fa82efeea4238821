"""Database access: engine, models, the embedded server."""
