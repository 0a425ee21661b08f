"""Embedded adapters: no server, state in SQLite/DuckDB/files or in process."""
