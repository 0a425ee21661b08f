"""THE topology of sportsflow (SPEC §1). Runtime, orchestrators, Terraform
(`infra/topology.auto.tfvars.json`, generated) and docs all read this; a test keeps them in step."""
from __future__ import annotations

from shared.topology.model import (
    DEAD_LETTER_SUFFIX,
    FunctionSpec,
    PhaseSpec,
    SchedulerJobSpec,
    SubscriptionSpec,
    TopicSpec,
    Topology,
)

PHASE2_PROCESSORS = (
    "raw_schedule",
    "raw_player_boxscores",
    "raw_team_boxscores",
    "raw_player_registry",
    "raw_prop_lines",
)

PHASE3_PROCESSORS = (
    "player_game_summary",
    "team_offense_game_summary",
    "team_defense_game_summary",
    "upcoming_player_game_context",
    "upcoming_team_game_context",
)

# Phase 3 processor -> the raw tables (Phase 2 processors) it reads for its date.
PHASE3_GRAPH: dict[str, tuple[str, ...]] = {
    "player_game_summary": ("raw_schedule", "raw_player_boxscores", "raw_team_boxscores"),
    "team_offense_game_summary": ("raw_schedule", "raw_team_boxscores"),
    "team_defense_game_summary": ("raw_schedule", "raw_team_boxscores"),
    "upcoming_player_game_context": ("raw_schedule", "raw_player_registry", "raw_prop_lines"),
    "upcoming_team_game_context": ("raw_schedule",),
}

# node -> parents. Level 1 has no Phase 4 parents; player_composite_factors also waits
# for the Phase 3 processor upcoming_player_game_context (SPEC §1).
PHASE4_GRAPH: dict[str, tuple[str, ...]] = {
    "team_defense_zone_analysis": (),
    "player_shot_zone_analysis": (),
    "player_daily_cache": (),
    "player_composite_factors": (
        "team_defense_zone_analysis",
        "player_shot_zone_analysis",
        "player_daily_cache",
        "upcoming_player_game_context",
    ),
    "ml_feature_store_v2": (
        "team_defense_zone_analysis",
        "player_shot_zone_analysis",
        "player_daily_cache",
        "player_composite_factors",
    ),
}

_TOPICS = (
    TopicSpec(name="phase1-scrapers-complete", message_type="ScraperCompleted",
              description="a scraper stored a raw payload for a date"),
    TopicSpec(name="phase2-raw-complete", message_type="RawProcessed",
              description="a raw processor loaded a raw table for a date"),
    TopicSpec(name="phase3-trigger", message_type="AnalyticsTrigger",
              description="run these Phase 3 processors for a date (their raw inputs are loaded)"),
    TopicSpec(name="phase3-analytics-complete", message_type="AnalyticsCompleted",
              description="an analytics processor finished a date"),
    TopicSpec(name="phase4-trigger", message_type="PrecomputeTrigger",
              description="run these Phase 4 processors for a date (claimed exactly once)"),
    TopicSpec(name="phase4-processor-complete", message_type="PrecomputeProcessorCompleted",
              description="a Phase 4 processor finished a date"),
    TopicSpec(name="phase4-precompute-complete", message_type="PrecomputeCompleted",
              description="ml_feature_store_v2 is ready for a date"),
    TopicSpec(name="prediction-request", message_type="PredictionRequest",
              description="predict one player for a date"),
    TopicSpec(name="prediction-ready", message_type="PredictionReady",
              description="one player's predictions are written"),
    TopicSpec(name="phase5-predictions-complete", message_type="PredictionsCompleted",
              description="all requested players of a batch are predicted"),
    TopicSpec(name="live-provider-events", message_type="LiveProviderUpdate",
              description="one live-match provider event (the MQTT/WebSocket stream bridged onto Pub/Sub)"),
    TopicSpec(name="settlement-jobs", message_type="Job",
              description="settle one ended match (job contract; SPEC §4)"),
    TopicSpec(name="game-final", message_type="GameFinal",
              description="an MLB game is final (version 1) or a source corrected it (version 2, ...)"),
    TopicSpec(name="validation-decided", message_type="ValidationDecided",
              description="one promotion of one game version was decided or sent to review"),
    TopicSpec(name="ingestion-jobs", message_type="Job",
              description="ingest a tournament's fixtures or results from the provider (job contract; SPEC §4)"),
)


def _push(topic: str, function: str, *, path: str = "", ordering: bool = False,
          attempts: int = 5, ack_deadline_s: int = 600) -> SubscriptionSpec:
    """For push, the ack deadline is the request timeout: it must outlast the function (540 s)."""
    return SubscriptionSpec(
        name=f"{topic}--{function.replace('_', '-')}",
        topic=topic,
        dead_letter_topic=f"{topic}{DEAD_LETTER_SUFFIX}",
        max_delivery_attempts=attempts,
        min_backoff_s=10,
        max_backoff_s=600,
        ack_deadline_s=ack_deadline_s,
        enable_ordering=ordering,
        push_function=function,
        push_path=path,
    )


def _dead_letter_sink(topic: str) -> SubscriptionSpec:
    """Pull subscription that keeps a topic's dead letters for inspection and replay."""
    return SubscriptionSpec(
        name=f"{topic}{DEAD_LETTER_SUFFIX}--sink",
        topic=f"{topic}{DEAD_LETTER_SUFFIX}",
        dead_letter_topic=None,
        max_delivery_attempts=5,
        ack_deadline_s=600,
    )


_FUNCTIONS = (
    FunctionSpec(name="phase1_scrapers", phase=1, trigger="http", http_paths=("/",),
                 handler="shared.pipeline.phase1:handle_scrape_request",
                 publishes=("phase1-scrapers-complete",),
                 description="fetch one provider payload for a date, store it raw, announce it"),
    FunctionSpec(name="phase2_raw_processors", phase=2, trigger="topic",
                 trigger_topic="phase1-scrapers-complete",
                 handler="shared.pipeline.phase2:handle_scraper_completed",
                 publishes=("phase2-raw-complete",),
                 description="turn a raw payload into raw warehouse tables"),
    FunctionSpec(name="phase2_to_phase3_orchestrator", phase=2, trigger="topic",
                 trigger_topic="phase2-raw-complete",
                 handler="shared.orchestration.handlers:handle_raw_processed",
                 publishes=("phase3-trigger",),
                 description="triggers each Phase 3 processor once its raw tables are loaded for the date"),
    FunctionSpec(name="phase3_analytics", phase=3, trigger="topic", trigger_topic="phase3-trigger",
                 handler="shared.pipeline.phase3:handle_analytics_trigger",
                 publishes=("phase3-analytics-complete",),
                 description="run the triggered analytics processors"),
    FunctionSpec(name="phase3_to_phase4_orchestrator", phase=3, trigger="topic",
                 trigger_topic="phase3-analytics-complete",
                 handler="shared.orchestration.handlers:handle_analytics_completed",
                 publishes=("phase4-trigger",),
                 description="fan-in of the five Phase 3 processors; triggers Phase 4 exactly once"),
    FunctionSpec(name="phase4_precompute", phase=4, trigger="topic", trigger_topic="phase4-trigger",
                 handler="shared.pipeline.phase4:handle_precompute_trigger",
                 publishes=("phase4-processor-complete",),
                 description="run the triggered Phase 4 processors"),
    FunctionSpec(name="phase4_orchestrator", phase=4, trigger="topic",
                 trigger_topic="phase4-processor-complete",
                 handler="shared.orchestration.handlers:handle_precompute_processor_completed",
                 publishes=("phase4-trigger", "phase4-precompute-complete"),
                 description="Phase 4 dependency graph: triggers each node once when its parents are done"),
    FunctionSpec(name="reconciler", phase=4, trigger="http", http_paths=("/",),
                 handler="shared.orchestration.reconciler:handle_reconcile_request",
                 publishes=("phase1-scrapers-complete", "phase2-raw-complete", "phase3-trigger",
                            "phase3-analytics-complete", "phase4-trigger", "phase4-processor-complete",
                            "phase4-precompute-complete"),
                 description="re-drives what crashes left: unpublished claims, unclaimed ready fan-ins, "
                             "expired or failed runs, dead-lettered triggers; alerts on late dates"),
    FunctionSpec(name="phase5_coordinator", phase=5, trigger="http",
                 http_paths=("/trigger", "/start", "/retry", "/status", "/ready"),
                 http_methods={"/status": ("GET", "POST")}, rate_limit_per_minute=None,
                 handler="shared.predictions.coordinator:app",
                 publishes=("prediction-request", "phase5-predictions-complete"),
                 description="fans out one prediction request per player and fans the results back in"),
    FunctionSpec(name="phase5_prediction_worker", phase=5, trigger="topic",
                 trigger_topic="prediction-request", concurrency=1, max_instances=100,
                 handler="shared.predictions.worker:handle_prediction_request",
                 publishes=("prediction-ready",),
                 description="runs the five prediction systems for one player"),
    FunctionSpec(name="predictions_api", phase=5, trigger="http",
                 http_paths=("/predictions", "/predictions/coverage"),
                 http_methods={"/predictions": ("GET",), "/predictions/coverage": ("GET",)},
                 rate_limit_per_minute=600, max_body_bytes=0,
                 handler="shared.predictions.api:app", publishes=(), api=True,
                 description="serves the predictions projection the workers maintain, cached per version"),
    FunctionSpec(name="live_ingest", phase=6, trigger="topic", trigger_topic="live-provider-events",
                 concurrency=1, max_instances=20,
                 handler="shared.live.ingestion:handle_provider_update",
                 description="applies a provider event to its match: monotonic on provider_update_time, "
                             "write-once kickoffs"),
    FunctionSpec(name="live_poll", phase=6, trigger="http", http_paths=("/",), timeout_s=60,
                 handler="shared.live.ingestion:handle_poll_request",
                 description="polls the provider's data_update and applies it like a push"),
    FunctionSpec(name="live_minute_engine", phase=6, trigger="http", http_paths=("/",), timeout_s=90,
                 max_instances=1, handler="shared.live.engine:handle_minute_request",
                 description="the minute of each running match, 4 ticks 15 s apart per invocation; "
                             "writes minute fields only"),
    FunctionSpec(name="live_watchdog", phase=6, trigger="http", http_paths=("/",), timeout_s=120,
                 max_instances=1, handler="shared.live.watchdog:handle_watchdog_request",
                 description="stale/frozen live matches: warn, forced reconcile, error"),
    FunctionSpec(name="live_diary_sync", phase=6, trigger="http", http_paths=("/",), timeout_s=300,
                 handler="shared.live.diary:handle_diary_request",
                 description="creates today's and tomorrow's matches from the provider diary (the only creator)"),
    FunctionSpec(name="live_read_api", phase=6, trigger="http",
                 http_paths=("/matches/live", "/matches/diary", "/matches/{match_id}"),
                 http_methods={"/matches/live": ("GET",), "/matches/diary": ("GET",), "/matches/{match_id}": ("GET",)},
                 rate_limit_per_minute=1200, max_body_bytes=0, timeout_s=30, max_instances=20, concurrency=80, memory_mb=512, api=True,
                 handler="shared.live.read_api:handle_read_request",
                 description="live, diary and match reads from stored state only"),
    FunctionSpec(name="executions_admin", phase=6, trigger="http",
                 http_paths=("/settlements", "/executions", "/executions/{id}", "/executions/{id}/cancel", "/health",
                             "/ingestions"),
                 http_methods={"/executions": ("GET",), "/executions/{id}": ("GET",), "/health": ("GET",)},
                 handler="shared.executions.admin:handle_admin_request",
                 publishes=("settlement-jobs", "ingestion-jobs"),
                 description="admin commands (202 + execution id), executions list/show/cancel, audited; /health"),
    FunctionSpec(name="settlement_worker", phase=6, trigger="topic", trigger_topic="settlement-jobs",
                 handler="shared.tournaments.worker:handle_settlement_job", publishes=(),
                 description="settles one ended match exactly once and refreshes its leaderboards"),
    FunctionSpec(name="validation_monitor", phase=6, trigger="http", http_paths=("/",),
                 handler="shared.validation.handlers:monitor_http", publishes=("game-final",), timeout_s=120,
                 description="polls both result sources' scoreboards; announces each final game once per version"),
    FunctionSpec(name="outcome_validation", phase=6, trigger="topic", trigger_topic="game-final",
                 handler="shared.validation.handlers:handle_game_final", publishes=("validation-decided",),
                 timeout_s=60, max_instances=50,
                 description="validates every promotion of a game: consensus, evidence, Merkle log, review queue"),
    FunctionSpec(name="validation_notifier", phase=6, trigger="topic", trigger_topic="validation-decided",
                 handler="shared.validation.handlers:handle_decision", timeout_s=60,
                 description="delivers each decision through the notification adapter (log, webhook, e-mail)"),
    FunctionSpec(name="validation_synthetic", phase=6, trigger="http", http_paths=("/",),
                 handler="shared.validation.handlers:synthetic_http", publishes=("game-final",), timeout_s=120,
                 description="runs a synthetic game through the whole validation path; alerts when it fails"),
    FunctionSpec(name="ingestion_worker", phase=6, trigger="topic", trigger_topic="ingestion-jobs",
                 handler="shared.ingestion.worker:handle_ingestion_job", publishes=("settlement-jobs",),
                 description="fetches a tournament's fixtures or results, upserts them exactly once, stores "
                             "the report (success or failure), announces it, enqueues settlements of ended matches"),
)

# Job types' own retry policies (SPEC §4: retries with backoff by job type, then the dead letter).
_JOB_SUBSCRIPTIONS = (
    _push("settlement-jobs", "settlement_worker", attempts=10),
    _push("ingestion-jobs", "ingestion_worker", attempts=5),
)

_SUBSCRIPTIONS = (
    *(_push(fn.trigger_topic, fn.name) for fn in _FUNCTIONS
      if fn.trigger == "topic" and fn.name not in {s.push_function for s in _JOB_SUBSCRIPTIONS}),
    _push("phase4-precompute-complete", "phase5_coordinator", path="/trigger"),
    _push("prediction-ready", "phase5_coordinator", path="/ready"),
    *(_dead_letter_sink(t.name) for t in _TOPICS),
    *_JOB_SUBSCRIPTIONS,
)

_SCHEDULER_JOBS = (
    SchedulerJobSpec(name="reconciler-every-10-minutes", schedule="*/10 * * * *", target_function="reconciler",
                     body={}, description="one reconciler pass over the last 7 days"),
    SchedulerJobSpec(name="phase1-daily-scrape", schedule="0 4 * * *", target_function="phase1_scrapers",
                     body={"scrapers": "daily", "date": "yesterday"},
                     description="box scores, team box scores, player registry for yesterday's games"),
    SchedulerJobSpec(name="phase1-hourly-scrape", schedule="0 * * * *", target_function="phase1_scrapers",
                     body={"scrapers": "hourly", "date": "today"},
                     description="schedule, injury report and prop lines for today"),
    SchedulerJobSpec(name="phase5-start-backup", schedule="0 6 * * *", target_function="phase5_coordinator",
                     http_path="/start", body={"date": "today", "wait_minutes": 30},
                     description="backup start if the Phase 4 event never came (≥80% or ≥100 players ready)"),
    SchedulerJobSpec(name="phase5-retry-0615", schedule="15 6 * * *", target_function="phase5_coordinator",
                     http_path="/retry", body={"date": "today"}, description="re-request only missing players"),
    SchedulerJobSpec(name="phase5-retry-0630", schedule="30 6 * * *", target_function="phase5_coordinator",
                     http_path="/retry", body={"date": "today"}, description="re-request only missing players"),
    SchedulerJobSpec(name="phase5-status-0700", schedule="0 7 * * *", target_function="phase5_coordinator",
                     http_path="/status", http_method="GET", body={"date": "today"},
                     description="alert when prediction coverage < 90%"),
    SchedulerJobSpec(name="live-poll-every-minute", schedule="* * * * *", target_function="live_poll",
                     time_zone="Etc/UTC", body={}, description="data_update poll (backs up the push stream)"),
    SchedulerJobSpec(name="live-minute-engine", schedule="* * * * *", target_function="live_minute_engine",
                     time_zone="Etc/UTC", body={"ticks": 4},
                     description="minute engine: one invocation a minute ticks every 15 s"),
    SchedulerJobSpec(name="live-watchdog", schedule="* * * * *", target_function="live_watchdog",
                     time_zone="Etc/UTC", body={}, description="stale/frozen ladder for live matches"),
    SchedulerJobSpec(name="live-diary-sync", schedule="5 0 * * *", target_function="live_diary_sync",
                     time_zone="Etc/UTC", body={"date": "today", "days": 2},
                     description="creates today's and tomorrow's matches"),
    SchedulerJobSpec(name="validation-monitor-every-minute", schedule="* * * * *",
                     target_function="validation_monitor", body={"date": "today"},
                     description="poll the result sources' scoreboards for today's MLB games"),
    SchedulerJobSpec(name="validation-synthetic-every-5-minutes", schedule="*/5 * * * *",
                     target_function="validation_synthetic", body={},
                     description="synthetic validation through the whole path (SPEC §2)"),
)

_PHASES = (
    PhaseSpec(number=1, name="collection", description="scrapers fetch provider payloads and store them raw",
              processors=("schedule", "player_boxscores", "team_boxscores", "player_registry", "prop_lines")),
    PhaseSpec(number=2, name="raw", description="raw payloads become raw warehouse tables",
              processors=PHASE2_PROCESSORS),
    PhaseSpec(number=3, name="analytics", description="five analytics processors per date",
              processors=PHASE3_PROCESSORS),
    PhaseSpec(number=4, name="precompute", description="dependency graph of five precompute processors",
              processors=tuple(PHASE4_GRAPH)),
    PhaseSpec(number=5, name="predictions", description="per-player predictions, fanned out and back in",
              processors=("phase5_coordinator", "phase5_prediction_worker")),
    PhaseSpec(number=6, name="live", description="live match state: provider events, minute engine, watchdog, "
                                                 "read API (SPEC §3)",
              processors=("live_ingest", "live_poll", "live_minute_engine", "live_watchdog", "live_diary_sync",
                          "live_read_api")),
)

TOPOLOGY = Topology(
    topics=_TOPICS,
    subscriptions=_SUBSCRIPTIONS,
    functions=_FUNCTIONS,
    scheduler_jobs=_SCHEDULER_JOBS,
    phases=_PHASES,
    phase3_required=frozenset(PHASE3_PROCESSORS),
    phase3_graph=PHASE3_GRAPH,
    phase4_graph=PHASE4_GRAPH,
    phase4_final="ml_feature_store_v2",
)
