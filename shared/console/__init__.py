"""The operations console: server-rendered pages of stored state (pipeline, coverage, validations,
review queue, live matches, executions, leaderboards, health). See app.py for the routes."""
