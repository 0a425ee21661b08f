"""Live match state (SPEC §3, seed 001): one document per match, fed by provider pushes and polls.

    status        the provider's status ids and the live / frozen sets
    model         the stored match document (MatchState) and the provider update contract
    transitions   the one state-transition rule: monotonic provider writes, write-once kickoffs
    minute        the minute and its text from the kickoff timestamps
    store         the match documents in the document store (transactions, preconditions)
    ingestion     Pub/Sub pushes and provider polls into the transition, aggregated rate logs
    engine        the minute engine (scheduled)
    watchdog      stale / frozen detection and the warn → reconcile → error ladder (scheduled)
    diary         the daily diary sync: the only thing that creates matches
    read_api      /matches/live, /matches/diary, /matches/{id}: stored state only
    provider      the live provider's HTTP API (client and local server) and the match feed
"""
