"""`sportsflow serve`: the served function's gunicorn gets the asked workers and threads (WORKERS, THREADS)."""
import os

from typer.testing import CliRunner

from shared.cli.app import app
from shared.runtime.entrypoints import EMBEDDED_TOPOLOGY


def test_serve_passes_workers_and_threads_to_the_functions_framework_server(tmp_path, monkeypatch):
    seen = {}

    class Server:
        def run(self, host, port):
            seen.update(host=host, port=port, workers=os.environ["WORKERS"], threads=os.environ["THREADS"])

    monkeypatch.setattr("functions_framework._http.create_server", lambda app, debug: Server())
    for name in ("WORKERS", "THREADS", "SPORTSFLOW_BACKEND", "SPORTSFLOW_HOME", EMBEDDED_TOPOLOGY):
        monkeypatch.setenv(name, "")  # recorded, so the values serve sets are undone after the test
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "--backend", "emulator", "serve", "live_read_api",
                                      "--port", "8099", "--workers", "3", "--threads", "8"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen == {"host": "127.0.0.1", "port": 8099, "workers": "3", "threads": "8"}
    # The embedded backend admits one process per home: several workers are refused, saying why.
    refused = CliRunner().invoke(app, ["--home", str(tmp_path), "--backend", "local", "serve", "live_read_api",
                                       "--workers", "2"])
    assert refused.exit_code == 2 and "one process per" in " ".join(refused.output.split())
