"""Orchestration: fan-in of completions and exactly-once triggers, driven by the topology's graphs."""
