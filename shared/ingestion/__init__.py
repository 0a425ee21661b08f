"""Ingestion as a command (SPEC §4, seed 002 §8.1): fetch a tournament's fixtures or results from
the provider, validate, upsert exactly once under the execution record, store the report, announce it."""
