"""Builds the validation pieces for a `Services` (the bootstrap of this subsystem).

Settings from the environment:
    SPORTSFLOW_PROMOTIONS          a catalogue file (default: the shipped 30-club catalogue)
    SPORTSFLOW_SOURCE_WEIGHTS      e.g. "espn=0.6,mlb=0.4" (default)
    SPORTSFLOW_MIN_CONFIDENCE      default 1.0: every source must answer and agree
    SPORTSFLOW_LOG_SIGNING_KEY     the evidence log's Ed25519 key (PEM)
                                   (default $SPORTSFLOW_HOME/evidence-log-signing.pem)
    SPORTSFLOW_RESULT_SOURCES      for the monitor function: "espn=URL,mlb=URL"
    SPORTSFLOW_NOTIFIER            log (default), webhook:URL, email
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from shared.bootstrap import Services
from shared.contracts.envelope import Message
from shared.evidence_log.checkpoint import LogSigner, Verifier, load_or_create_signer
from shared.evidence_log.log import EvidenceLog
from shared.validation.catalogue import load_catalogue
from shared.validation.consensus import ConsensusPolicy
from shared.validation.rules import Catalogue
from shared.validation.service import OutcomeValidator


def signing_key_path(services: Services) -> Path:
    return Path(os.environ.get("SPORTSFLOW_LOG_SIGNING_KEY") or services.settings.home / "evidence-log-signing.pem")


def signer(services: Services) -> LogSigner:
    return load_or_create_signer(signing_key_path(services))


def verifier_key(services: Services) -> str:
    return signer(services).verifier_key()


def trusted_verifier(key: str | None, services: Services) -> Verifier:
    return Verifier.parse(key or verifier_key(services))


def evidence_log(services: Services, *, signing: bool = True) -> EvidenceLog:
    return EvidenceLog(services.documents, services.evidence, signer(services) if signing else None)


@lru_cache(maxsize=8)
def _catalogue(path: str | None) -> Catalogue:
    return load_catalogue(path)


def catalogue() -> Catalogue:
    return _catalogue(os.environ.get("SPORTSFLOW_PROMOTIONS") or None)


def policy_from_env(env: Mapping[str, str] = os.environ) -> ConsensusPolicy:
    weights = env.get("SPORTSFLOW_SOURCE_WEIGHTS")
    parsed = {k.strip(): float(v) for k, v in (p.split("=") for p in weights.split(","))} if weights else None
    return ConsensusPolicy(**({"weights": parsed} if parsed else {}),
                           min_confidence=float(env.get("SPORTSFLOW_MIN_CONFIDENCE", "1.0")))


def validator(services: Services, publish: Callable[[str, Message], Any], *,
              catalogue_: Catalogue | None = None, policy: ConsensusPolicy | None = None) -> OutcomeValidator:
    return OutcomeValidator(services.documents, services.evidence, evidence_log(services, signing=False),
                            catalogue_ or catalogue(), publish, policy=policy or policy_from_env())


def result_source_urls(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    spec = env.get("SPORTSFLOW_RESULT_SOURCES", "")
    return dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
