"""One function of the topology in its own process, as Cloud Functions runs it: its
`functions/<name>/main.py` loaded by functions-framework (`create_app`) and served by
functions-framework's gunicorn, behind the dev `PushGate` (shared/dev/push.py).

    python -m shared.dev.function_process phase3_analytics --port 8123

`sportsflow dev up` starts one per implemented function, with SPORTSFLOW_BACKEND=emulator and the
home's SPORTSFLOW_HOME in the environment (each builds its own Services, like an instance).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


def signature_type(trigger: str) -> str:
    return "http" if trigger == "http" else "cloudevent"


def build_app(function: str):
    """functions-framework's app for `function`, behind the dev push gate."""
    import functions_framework

    from shared.config import Settings
    from shared.dev.push import PushGate
    from shared.runtime import auth
    from shared.topology import TOPOLOGY

    spec = TOPOLOGY.function(function)
    app = functions_framework.create_app(target="handle", source=str(FUNCTIONS_DIR / function / "main.py"),
                                         signature_type=signature_type(spec.trigger))
    verifier = auth.verifier_for(Settings.from_env())
    app.wsgi_app = PushGate(app.wsgi_app, function=function, verify_events=spec.trigger == "topic",
                            verifier=verifier)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    os.environ["THREADS"] = str(args.threads)
    os.environ.setdefault("WORKERS", "1")
    app = build_app(args.function)
    from functions_framework._http import create_server
    create_server(app, debug=False).run(args.host, args.port)


if __name__ == "__main__":
    main()
