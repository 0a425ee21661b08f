"""Ports: the small interfaces the domain talks to. Adapters live in `shared.adapters`.

Each port has one behaviour suite in `tests/ports/` that every adapter of that port must pass.
"""
