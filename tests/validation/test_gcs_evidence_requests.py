"""Validation on Cloud Storage: every evidence object the monitor and the validation write is
uploaded create-only (ifGenerationMatch=0) under Locked object retention until its retain-until
date — checked on the requests sent to fake-gcs-server, which enforces neither (see
tests/adapters/test_gcs_retention_requests.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.adapters.test_gcs_retention_requests import recorded  # noqa: F401 (the fixture)
from tests.validation.conftest import GAMES, Harness

pytestmark = pytest.mark.emulator


def test_every_evidence_upload_carries_locked_retention_and_is_create_only(tmp_path, recorded) -> None:  # noqa: F811
    store, session, bucket, _ = recorded
    with Harness(tmp_path) as harness:
        harness.evidence = harness.services.__dict__["evidence"] = store
        harness.poll()
        decisions = harness.decisions()
    uploads = session.matching("POST", f"/upload/storage/v1/b/{bucket}/o")
    names = set()
    for upload in uploads:
        resource, _ = upload.upload_parts()
        names.add(resource["name"])
        assert upload.query["ifGenerationMatch"] == "0"
        assert resource["retention"]["mode"] == "Locked"
        assert datetime.fromisoformat(resource["retention"]["retainUntilTime"]).year >= 2031
    assert {d["evidence_key"] for d in decisions.values()} <= names
    assert any(name.startswith("validation/payloads/") for name in names)
    assert len(decisions) >= len(GAMES)
