"""The model registry: trained artifacts, their versions, and which version is current.

An artifact is canonical JSON stored create-only in the evidence store under its content hash,
`models/<system>/<sha256>.json`, with a retention period; a retrain can never overwrite an
earlier artifact, and training again on the same data gives the same bytes, hence the same key
(deterministic seeds). Documents:
- `model_versions/{system}__{version}`: one per artifact (key, training window, metrics, code
  and feature versions, when it was first stored),
- `model_trainings/{training key}`: which versions a training of given data produced (so a rerun
  of the same training, e.g. a resumed evaluation, reuses them instead of training again),
- `model_current/{system}`: the version workers load. It only moves forward in training date:
  a late or duplicated training through an earlier date never replaces a newer current model.
The version is the first 16 hex digits of the artifact's SHA-256."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.bootstrap import Services
from shared.pipeline.phase4.features import FEATURE_VERSION
from shared.predictions.systems.catalog import MODEL_CODE_VERSION, SYSTEMS, code_fingerprint
from shared.predictions.systems.data import History
from shared.predictions.systems.model_set import ModelSet
from shared.predictions.training import load_history, train_systems

log = logging.getLogger("sportsflow.predictions.model_registry")

ARTIFACT_RETENTION = timedelta(days=3 * 365)
VERSIONS = "model_versions"
TRAININGS = "model_trainings"
CURRENT = "model_current"


@dataclass(frozen=True)
class TrainingResult:
    through: date
    versions: dict[str, str]           # system → version
    reused: bool                       # an identical training had already stored these versions
    current: dict[str, str]            # system → current version after this training
    metrics: dict[str, dict[str, Any]]  # system → market → held-out metrics


def canonical_bytes(artifact: dict[str, Any]) -> bytes:
    return json.dumps(artifact, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def artifact_key(system: str, sha256: str) -> str:
    return f"models/{system}/{sha256}.json"


def training_key(history: History, through: date) -> str:
    basis = f"{MODEL_CODE_VERSION}|{code_fingerprint()}|{FEATURE_VERSION}|{through.isoformat()}|{history.fingerprint()}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


# --- training --------------------------------------------------------------------------------
def train(services: Services, through: date, *, mark_current: bool = True,
          history: History | None = None) -> TrainingResult:
    """Train every system on the history through `through` (read from the warehouse unless given),
    store the artifacts, and (by default) make them current."""
    history = (history if history is not None else load_history(services.warehouse, through)).through(through)
    key = training_key(history, through)
    earlier = services.documents.get(f"{TRAININGS}/{key}")
    if earlier is not None:
        versions, reused = dict(earlier.data["versions"]), True
    else:
        artifacts = train_systems(history, through)
        versions = {system: store_artifact(services, system, artifacts[system]) for system in SYSTEMS}
        services.documents.create(f"{TRAININGS}/{key}", {"through": through.isoformat(), "versions": versions,
                                                         "created_at": services.documents.now()})
        reused = False
    current = mark_versions_current(services, versions, through) if mark_current else current_versions(services)
    metrics = {system: _version_document(services, system, version)["metrics"] for system, version in versions.items()}
    log.info("models trained", extra={"fields": {"through": through.isoformat(), "versions": versions,
                                                 "reused": reused}})
    return TrainingResult(through, versions, reused, current, metrics)


def store_artifact(services: Services, system: str, artifact: dict[str, Any]) -> str:
    """Store create-only under the content hash; returns the version. Idempotent."""
    data = canonical_bytes(artifact)
    sha256 = hashlib.sha256(data).hexdigest()
    version, key = sha256[:16], artifact_key(system, sha256)
    metadata = artifact["metadata"]
    if services.evidence.head(key) is None:
        services.evidence.put(key, data, retain_until=services.documents.now() + ARTIFACT_RETENTION,
                              metadata={"system": system, "version": version,
                                        "through": metadata["training_window"]["through"],
                                        "feature-version": metadata["feature_version"]})
    services.documents.create(f"{VERSIONS}/{system}__{version}", {
        "system": system, "version": version, "key": key, "sha256": sha256, "size": len(data),
        "through": metadata["training_window"]["through"], "first": metadata["training_window"]["first"],
        "training_rows": metadata["training_rows"], "feature_version": metadata["feature_version"],
        "code_version": metadata["code_version"], "code_fingerprint": metadata["code_fingerprint"],
        "metrics": metadata["metrics"],
        "created_at": services.documents.now()})
    return version


def mark_versions_current(services: Services, versions: dict[str, str], through: date) -> dict[str, str]:
    """Make `versions` current, in one transaction, for each system whose current version was
    trained through `through` or earlier. Returns the current versions afterwards."""
    def mark(tx) -> dict[str, str]:
        existing = {system: tx.get(f"{CURRENT}/{system}") for system in versions}
        result = {}
        for system, version in versions.items():
            document = existing[system]
            if document is not None and document.data["through"] > through.isoformat():
                result[system] = document.data["version"]
                continue
            tx.set(f"{CURRENT}/{system}", {"version": version, "through": through.isoformat(),
                                          "key": _version_document(services, system, version)["key"]})
            result[system] = version
        return result
    return services.documents.run_transaction(mark)


# --- reading ---------------------------------------------------------------------------------
def current_versions(services: Services) -> dict[str, str]:
    """system → current version (systems never trained are absent). Cheap: workers compare it
    with their cached ModelSet.versions to know when to load again."""
    documents = {system: services.documents.get(f"{CURRENT}/{system}") for system in SYSTEMS}
    return {system: doc.data["version"] for system, doc in documents.items() if doc is not None}


def load_current(services: Services) -> ModelSet:
    """The current version of every system (ModelSet.untrained()'s fallbacks for the rest)."""
    return load_versions(services, current_versions(services))


def load_versions(services: Services, versions: dict[str, str]) -> ModelSet:
    artifacts = {system: (version, read_artifact(services, system, version)) for system, version in versions.items()}
    return ModelSet.from_artifacts(artifacts)


def load_for_date(services: Services, day: date) -> ModelSet:
    """For each system the newest version trained strictly before `day` (to predict `day` again
    after later trainings, without look-ahead)."""
    chosen = {}
    for system in SYSTEMS:
        candidates = [d for d in list_versions(services, system) if d["through"] < day.isoformat()]
        if candidates:
            chosen[system] = max(candidates, key=lambda d: (d["through"], d["created_at"]))["version"]
    return load_versions(services, chosen)


def read_artifact(services: Services, system: str, version: str) -> dict[str, Any]:
    """The parsed artifact, its bytes verified by the evidence store's integrity check."""
    document = _version_document(services, system, version)
    return json.loads(services.evidence.get(document["key"]))


def list_versions(services: Services, system: str | None = None) -> list[dict[str, Any]]:
    filters = [("system", "==", system)] if system else []
    documents = services.documents.query(VERSIONS, filters)
    return sorted((d.data for d in documents), key=lambda d: (d["system"], d["through"], d["created_at"]))


def _version_document(services: Services, system: str, version: str) -> dict[str, Any]:
    document = services.documents.get(f"{VERSIONS}/{system}__{version}")
    if document is None:
        raise LookupError(f"no stored version {version} of {system}: `sportsflow models list` shows the versions")
    return document.data
