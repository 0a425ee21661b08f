"""Deep health: every dependency probed, with its status and latency (`sportsflow health`, the console's /health)."""
from shared.health.checks import DependencyHealth, HealthReport, check_health

__all__ = ["DependencyHealth", "HealthReport", "check_health"]
