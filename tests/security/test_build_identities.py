"""Observation 4 of issue #11 (identities): the test build and the deploy build run as separate
service accounts; the tester holds only log writing; the deployer holds no owner/editor role and
may grant at project level only the roles infra/ itself grants there."""
from __future__ import annotations

import re
from pathlib import Path

import hcl2

INFRA = Path(__file__).resolve().parents[2] / "infra"
ACCOUNTS = (INFRA / "service_accounts.tf").read_text()


def _resources(kind: str) -> dict:
    parsed = hcl2.loads(ACCOUNTS)
    found = {}
    for block in parsed["resource"]:
        for name, body in block.get(f'"{kind}"', {}).items():
            found[name.strip('"')] = body
    return found


def _list_in_locals(name: str) -> set[str]:
    block = ACCOUNTS[ACCOUNTS.index(f"{name} = toset(["):]
    return set(re.findall(r'"(roles/[A-Za-z.]+)"', block[:block.index("])")]))


def test_the_test_and_deploy_identities_are_separate_and_the_tester_only_writes_logs():
    accounts = _resources("google_service_account")
    assert accounts["ci_tester"]["account_id"] != accounts["deployer"]["account_id"]
    members = _resources("google_project_iam_member")
    assert members["ci_tester"]["role"].strip('"') == "roles/logging.logWriter"
    tester_grants = [name for name, body in members.items() if "ci_tester" in str(body.get("member"))]
    assert tester_grants == ["ci_tester"]


def test_the_deployer_holds_no_basic_role_and_grants_only_what_infra_grants():
    roles = _list_in_locals("deployer_roles")
    assert not roles & {"roles/owner", "roles/editor", "roles/iam.securityAdmin"}
    assert "roles/resourcemanager.projectIamAdmin" in roles  # project-level grants need it ...
    condition = ACCOUNTS[ACCOUNTS.index('dynamic "condition"'):]
    assert 'each.value == "roles/resourcemanager.projectIamAdmin"' in condition  # ... always conditioned
    assert "modifiedGrantsByRole" in condition and "hasOnly" in condition
    granted_in_infra = set()
    for path in INFRA.glob("*.tf"):
        text = path.read_text()
        for block in re.findall(r'resource "google_project_iam_member" "\w+" \{.*?\n\}', text, re.DOTALL):
            if "deployer" not in block and "ci_tester" not in block:
                granted_in_infra |= set(re.findall(r'"(roles/[A-Za-z.]+)"', block))
    granted_in_infra |= {"roles/datastore.user", "roles/bigquery.jobUser"}  # function_iam.tf, via locals
    assert _list_in_locals("project_roles_granted") == granted_in_infra | {"roles/logging.logWriter"}
    assert not _list_in_locals("project_roles_granted") & roles - {"roles/logging.logWriter"}
