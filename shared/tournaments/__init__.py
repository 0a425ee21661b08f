"""The guess/scoring/settlement/leaderboard domain of seed 002 (SPEC §4)."""
