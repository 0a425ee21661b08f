"""The prediction pipeline of SPEC §1: scrapers (Phase 1), raw (2), analytics (3), precompute (4)."""
