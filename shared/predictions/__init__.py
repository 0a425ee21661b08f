"""Phase 5: player-prop predictions (SPEC §1): the prediction systems, their model registry,
training and walk-forward evaluation, and the coordinator, workers and fan-in that run them."""
