"""The sports data provider the Phase 1 scrapers call, as a process of its own on a given port.

    python -m shared.dev.provider_process --source replay:../shared/data --port 8124
"""
from __future__ import annotations

import argparse
import signal
import threading


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", default="synthetic", help="synthetic[:SEED] or replay:PATH")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from shared.providers.server import ProviderServer, open_source

    server = ProviderServer(open_source(args.source), port=args.port)
    print(f"provider {args.source} serving on {server.start()}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
