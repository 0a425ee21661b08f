"""Executions (SPEC §4): heavy work as a command with a queryable state machine and a step log,
the job contract every job message carries, and the idempotency ledger. Generic: any
subsystem (ingestion, settlement, ...) records its executions and outcomes here."""
