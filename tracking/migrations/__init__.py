"""Alembic migrations of the tracking store schema."""
