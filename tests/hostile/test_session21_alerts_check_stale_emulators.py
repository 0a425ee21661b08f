"""Hostile review (session 21): `sportsflow --backend emulator alerts check` "without emulators"
answers "run `sportsflow emulators up` first" (exit 2) only when emulators.env is absent. When the
home still holds an emulators.env but no emulator answers -- an `emulators up` that died half-way,
emulators killed or a machine rebooted without `emulators down` -- it crashes with a rich traceback,
exit 1:
- a file without FIRESTORE_EMULATOR_HOST: google.auth DefaultCredentialsError traceback at once;
- endpoints on dead ports (127.0.0.1:1): ~52 s of retries, then `RetryError: Timeout of 60.0s
  exceeded ... 503 failed to connect` traceback (`shared/cli/alerts.py:35 in check`).
Expected: exit 2 and one line saying the emulators of this home do not answer (emulators up)."""
from __future__ import annotations

from typer.testing import CliRunner

from shared.cli.app import app


def test_alerts_check_with_a_stale_emulators_env_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # never ask a metadata server (no network in tests)
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:1")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:1")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("SPORTSFLOW_EMULATOR_ENV", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / "emulators.env").write_text("GOOGLE_CLOUD_PROJECT=sportsflow-local\n")  # `up` died half-way
    result = CliRunner().invoke(app, ["--home", str(home), "--backend", "emulator", "alerts", "check"])
    # observed: exit 1, DefaultCredentialsError raised from shared/metrics/alerting.py check_stored_alerts
    assert result.exit_code == 2, (result.exit_code, repr(result.exception), result.output[-500:])
