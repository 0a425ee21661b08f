"""Observation 2 of issue #11: every setting a deployed function reads is set by Terraform. The
code's SPORTSFLOW_* names are found in the source; each must be in the functions' environment
(infra/functions.tf, its variables in infra/function_settings.tf) or be one that only local runs read."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
SETTING = re.compile(r"SPORTSFLOW_[A-Z0-9_]+")
# Read only off gcp, each for a reason; a deployed function never needs them.
LOCAL_ONLY = {
    "SPORTSFLOW_DEV_TOKEN": "development tokens stand in for OIDC on local/emulator only (shared/runtime/auth.py)",
    "SPORTSFLOW_DEV_ADMIN_TOKEN": "as SPORTSFLOW_DEV_TOKEN",
    "SPORTSFLOW_EMBEDDED_TOPOLOGY": "`sportsflow serve` on the local backend",
    "SPORTSFLOW_EMULATOR_ENV": "the emulator backend's endpoints file",
    "SPORTSFLOW_KILL_AT": "crash-point tests kill a real process",
    "SPORTSFLOW_RATE_LIMIT_PER_MINUTE": "load tests off gcp, whose clients share one dev identity (rate_limit.py)",
    "SPORTSFLOW_SQL_CACHE": "the local DuckDB adapter's SQL translation cache",
    "SPORTSFLOW_REPLAY_CACHE": "the replay source's parsed-file cache (replayed seasons are local runs only)",
    "SPORTSFLOW_TOOLS_DIR": "where the emulator harness installs its tools",
}
# Code that never runs in a deployed function.
NOT_DEPLOYED = ("shared/cli/", "shared/emulators/")


def settings_read_by_the_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "shared").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith(NOT_DEPLOYED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING.fullmatch(node.value):
                found.setdefault(node.value, set()).add(relative)
    return found


def settings_terraform_sets() -> set[str]:
    """The keys of the function resource's environment_variables."""
    parsed = hcl2.loads((INFRA / "functions.tf").read_text())
    functions = next(r['"google_cloudfunctions2_function"'] for r in parsed["resource"]
                     if '"google_cloudfunctions2_function"' in r)
    return set(functions['"function"']["service_config"][0]["environment_variables"])


def test_terraform_sets_every_setting_a_deployed_function_reads():
    provided = settings_terraform_sets()
    missing = {name: sorted(readers) for name, readers in settings_read_by_the_code().items()
               if name not in provided and name not in LOCAL_ONLY}
    assert not missing, f"read by deployed code but not set by Terraform (infra/functions.tf): {missing}"


def test_the_provider_url_phase1_needs_is_set():
    assert "SPORTSFLOW_PROVIDER_URL" in settings_terraform_sets()


def test_local_only_settings_are_not_set_on_gcp():
    assert not set(LOCAL_ONLY) & settings_terraform_sets()


def test_every_variable_the_settings_use_is_declared():
    text = (INFRA / "function_settings.tf").read_text() + (INFRA / "functions.tf").read_text()
    declared = set(re.findall(r'variable "([a-z_]+)"', "".join(p.read_text() for p in INFRA.glob("*.tf"))))
    used = set(re.findall(r"var\.([a-z_]+)", text))
    assert used <= declared, used - declared
