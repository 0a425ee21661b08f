"""Outcome validation of MLB promotions (SPEC §2): promotion rules as data, two result sources,
the game monitor, the consensus engine, the validation use case, the review queue and alerts."""
