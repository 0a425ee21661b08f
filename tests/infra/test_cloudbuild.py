"""The Cloud Build pipelines: cloudbuild.yaml tests and plans as sf-ci-tester; cloudbuild.deploy.yaml
deploys as sf-deployer, only when approved. Every step runs scripts/build_step.sh."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_STEP = REPO_ROOT / "scripts" / "build_step.sh"
TEST_BUILD, DEPLOY_BUILD = "cloudbuild.yaml", "cloudbuild.deploy.yaml"


def terraform_account_id(resource: str) -> str:
    """The account id infra/service_accounts.tf gives a build identity (the one truth for its name)."""
    text = (REPO_ROOT / "infra" / "service_accounts.tf").read_text()
    block = re.search(rf'resource "google_service_account" "{resource}" {{(.*?)\n}}', text, re.S)
    assert block, f"infra/service_accounts.tf declares no google_service_account.{resource}"
    return re.search(r'account_id\s*=\s*"([^"]+)"', block.group(1)).group(1)


def build(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text())


def steps(name: str) -> dict[str, dict]:
    return {step["id"]: step for step in build(name)["steps"]}


def command(step: dict) -> str:
    return " ".join([step.get("entrypoint", ""), *map(str, step.get("args", []))]).strip()


def build_step_of(step: dict) -> str | None:
    """The scripts/build_step.sh step a Cloud Build step runs (None for a bare tool call)."""
    match = re.search(r"scripts/build_step\.sh,? (\S+)", command(step).replace("[", "").replace("]", ""))
    return match.group(1).strip('"') if match else None


def upstream(all_steps: dict[str, dict], step_id: str) -> set[str]:
    found: set[str] = set()
    for parent in all_steps[step_id].get("waitFor", []):
        if parent != "-":
            found |= {parent} | upstream(all_steps, parent)
    return found


def cases_of_build_step() -> set[str]:
    return set(re.findall(r"^  ([a-z-]+)\)", BUILD_STEP.read_text(), re.MULTILINE))


@pytest.mark.parametrize("name", [TEST_BUILD, DEPLOY_BUILD])
def test_images_are_pinned_by_version(name):
    for step_id, step in steps(name).items():
        tag = step["name"].rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), f"{name} {step_id}: pin {step['name']}"


@pytest.mark.parametrize("name", [TEST_BUILD, DEPLOY_BUILD])
def test_every_step_runs_the_projects_own_script(name):
    known = cases_of_build_step()
    for step_id, step in steps(name).items():
        if step_id == "terraform-fmt":
            assert command(step) == "fmt -check -recursive infra"
            continue
        assert build_step_of(step) in known, (
            f"{name} {step_id}: run a scripts/build_step.sh step, not {command(step)!r}")


def test_build_step_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(BUILD_STEP)], capture_output=True).returncode == 0
    assert BUILD_STEP.stat().st_mode & 0o111, "scripts/build_step.sh must be executable"


def test_the_test_build_lints_tests_integrates_and_packages_but_never_touches_the_project():
    all_steps = steps(TEST_BUILD)
    ran = {build_step_of(step) for step in all_steps.values()}
    assert {"schema", "lint", "unit", "integration", "package"} <= ran
    assert not ran & {"plan", "apply", "source-bucket", "upload", "verify-deploy"}, \
        "the test identity writes logs only: no state, no deploy"
    assert {"provider-schema"} <= upstream(all_steps, "lint") & upstream(all_steps, "unit-tests")
    assert "unit-tests" in upstream(all_steps, "integration-tests")
    assert "emulators" in all_steps["integration-tests"]["name"], "the emulators must be in the build's image"
    assert build(TEST_BUILD)["serviceAccount"].endswith(
        f"/serviceAccounts/{terraform_account_id('ci_tester')}@${{PROJECT_ID}}.iam.gserviceaccount.com")


def test_the_deploy_build_is_gated_by_approval_and_runs_as_the_deployer():
    all_steps = steps(DEPLOY_BUILD)
    assert build(DEPLOY_BUILD)["serviceAccount"].endswith(
        f"/serviceAccounts/{terraform_account_id('deployer')}@${{PROJECT_ID}}.iam.gserviceaccount.com")
    gate = next(step_id for step_id, step in all_steps.items() if build_step_of(step) == "require-approval")
    assert all_steps[gate]["waitFor"] == ["-"]
    for step_id in all_steps:
        if step_id != gate:
            assert gate in upstream(all_steps, step_id), f"{step_id} must wait for the approval gate"
    order = ["package", "upload", "plan", "apply", "verify-deploy"]
    by_step = {build_step_of(step): step_id for step_id, step in all_steps.items()}
    for before, after in zip(order, order[1:]):
        assert by_step[before] in upstream(all_steps, by_step[after]), f"{after} must follow {before}"
    assert build(DEPLOY_BUILD)["substitutions"]["_ENV"] == "prod"


def test_the_approval_gate_refuses_an_unapproved_prod_build(tmp_path):
    """require-approval asks Cloud Build for this build's decision; a fake gcloud answers."""
    fake = tmp_path / "gcloud"
    fake.write_text("#!/bin/sh\necho \"$FAKE_DECISION\"\n")
    fake.chmod(0o755)

    def gate(decision: str, environment: str = "prod") -> subprocess.CompletedProcess:
        env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "BUILD_ID": "b-1", "FAKE_DECISION": decision,
               "DEPLOY_ENV": environment}
        return subprocess.run(["bash", str(BUILD_STEP), "require-approval"], env=env, capture_output=True, text=True)

    assert gate("APPROVED").returncode == 0
    refused = gate("")
    assert refused.returncode == 1 and "not approved" in refused.stderr
    assert gate("REJECTED").returncode == 1
    assert gate("", environment="staging").returncode == 0


def test_the_plan_uses_the_packaged_source_map():
    text = BUILD_STEP.read_text()
    assert "-var-file=../dist/function_sources.tfvars.json" in text
    assert "scripts/package_functions.py --out dist/" in text
    assert "gcloud storage cp --no-clobber dist/*.zip" in text
