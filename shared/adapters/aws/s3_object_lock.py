"""Evidence in S3 with Object Lock (COMPLIANCE): real write-once storage, provable locally with moto.

Each object is written with `If-None-Match: *` (create-only: a second writer gets 412),
`ObjectLockMode=COMPLIANCE` and `ObjectLockRetainUntilDate` in the same request, an
`x-amz-checksum-sha256` that S3 verifies on receipt, and the SHA-256 in user metadata that
every read checks again. A legal hold is S3's object legal hold.

Object Lock protects versions, not keys: anyone allowed to PutObject can still stack a new
version on top of a locked one, or hide it behind a delete marker. Evidence is create-only,
so a key with more than one version is reported as an integrity failure rather than
silently serving the newest bytes. Deletes remove the exact version (a plain delete would
only add a delete marker and appear to succeed).

Retention is read from head_object: moto's get_object_retention fails.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import boto3
from botocore.exceptions import ClientError, FlexibleChecksumError

from shared.ports.evidence import (
    EvidenceError,
    EvidenceNotFound,
    EvidenceObject,
    RetentionLocked,
)
from shared.ports.evidence_rules import (
    RESERVED_METADATA_PREFIX,
    SHA256_METADATA,
    checked_retain_until,
    deletion_refusal,
    integrity_failure,
    same_or_conflict,
    sha256_hex,
    validate_key,
    validate_metadata,
)

log = logging.getLogger("sportsflow.evidence")

LOCK_MODE = "COMPLIANCE"
DEFAULT_RETENTION_DAYS = 1  # the bucket default; each evidence object carries its own, longer one
_NO_RETENTION = datetime(1970, 1, 1, tzinfo=timezone.utc)
# 412: the key exists. 409: a concurrent conditional write to the same key is in flight.
_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict"}
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


def create_object_lock_bucket(client: Any, name: str, *, region: str | None = None,
                              default_retention_days: int = DEFAULT_RETENTION_DAYS) -> str:
    """Create a bucket with Object Lock enabled (possible only at creation; turns on versioning)
    and a default COMPLIANCE retention, so that even an object written without its own lock
    (another writer, a new version stacked on a locked key) cannot be deleted at once."""
    params: dict[str, Any] = {"Bucket": name, "ObjectLockEnabledForBucket": True}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**params)
    client.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": LOCK_MODE, "Days": default_retention_days}},
    })
    return name


class S3ObjectLockEvidenceStore:
    """EvidenceStore on an S3 bucket that has Object Lock enabled (checked on construction)."""

    def __init__(self, bucket: str, *, client: Any = None,
                 retention_floors: Mapping[str, timedelta] | None = None) -> None:
        self.retention_floors = retention_floors  # None: evidence_rules.RETENTION_FLOORS
        self._owns_client = client is None
        # boto3 reads AWS_ENDPOINT_URL_S3 itself, so a moto server needs no extra wiring.
        self._client = client or boto3.client("s3")
        self._bucket = bucket
        self._require_object_lock()

    def put(self, key: str, data: bytes, *, retain_until: datetime,
            content_type: str = "application/json", metadata: Mapping[str, str] | None = None) -> EvidenceObject:
        digest = hashlib.sha256(data).digest()
        locked_until = checked_retain_until(validate_key(key), retain_until, floors=self.retention_floors)
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=validate_key(key), Body=data, ContentType=content_type,
                Metadata={**validate_metadata(metadata), SHA256_METADATA: digest.hex()},
                ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(digest).decode(),
                ObjectLockMode=LOCK_MODE, ObjectLockRetainUntilDate=locked_until,
                IfNoneMatch="*",
            )
        except ClientError as err:
            if _code(err) not in _TAKEN:
                raise
            return same_or_conflict(self.head(key), key, digest.hex())
        stored = self.head(key)
        if stored is None:
            raise EvidenceError(f"{key!r} was written but is not readable: deleted or hidden meanwhile")
        log.info("evidence stored", extra={"fields": {"key": key, "sha256": digest.hex(), "size": len(data)}})
        return stored

    def get(self, key: str) -> bytes:
        version = self._only_version(key)
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key, VersionId=version,
                                               ChecksumMode="ENABLED")
            data = response["Body"].read()
        except FlexibleChecksumError as err:
            raise integrity_failure(key, f"S3 checksum mismatch on download: {err}") from err
        recorded = response.get("Metadata", {}).get(SHA256_METADATA)
        actual = sha256_hex(data)
        if recorded != actual:
            raise integrity_failure(key, f"sha256 {actual} does not match the recorded {recorded}")
        return data

    def head(self, key: str) -> EvidenceObject | None:
        try:
            response = self._client.head_object(Bucket=self._bucket, Key=validate_key(key))
        except ClientError as err:
            if _code(err) in _MISSING:
                return None
            raise
        return _to_object(key, response)

    def list(self, prefix: str = "") -> list[EvidenceObject]:
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        found = (self.head(key) for key in sorted(keys))
        return [obj for obj in found if obj is not None]

    def set_legal_hold(self, key: str, on: bool) -> None:
        version = self._current_version(key)
        self._client.put_object_legal_hold(Bucket=self._bucket, Key=key, VersionId=version,
                                           LegalHold={"Status": "ON" if on else "OFF"})
        log.info("legal hold changed", extra={"fields": {"key": key, "legal_hold": on, "version": version}})

    def delete(self, key: str) -> None:
        response = self._head_existing(key)
        reason = deletion_refusal(_to_object(key, response))
        if reason:
            raise RetentionLocked(f"delete refused: {reason}")
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key, VersionId=response["VersionId"])
        except ClientError as err:
            if _code(err) != "AccessDenied":
                raise
            raise RetentionLocked(f"delete of {key!r} refused by S3 Object Lock") from err
        log.info("evidence deleted", extra={"fields": {"key": key, "version": response["VersionId"]}})

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _require_object_lock(self) -> None:
        try:
            config = self._client.get_object_lock_configuration(Bucket=self._bucket)["ObjectLockConfiguration"]
        except ClientError as err:
            raise EvidenceError(f"bucket {self._bucket!r} has no Object Lock configuration: "
                                f"create it with create_object_lock_bucket ({_code(err)})") from err
        if config.get("ObjectLockEnabled") != "Enabled":
            raise EvidenceError(f"bucket {self._bucket!r} does not have Object Lock enabled")
        default = config.get("Rule", {}).get("DefaultRetention", {})
        if default.get("Mode") != LOCK_MODE:
            raise EvidenceError(f"bucket {self._bucket!r} has no default {LOCK_MODE} retention: set one "
                                f"(create_object_lock_bucket does) so no object version is ever unlocked")

    def _head_existing(self, key: str) -> dict:
        try:
            return self._client.head_object(Bucket=self._bucket, Key=validate_key(key))
        except ClientError as err:
            if _code(err) in _MISSING:
                raise EvidenceNotFound(key) from None
            raise

    def _current_version(self, key: str) -> str:
        return self._head_existing(key)["VersionId"]

    def _only_version(self, key: str) -> str:
        """The single version of `key`; more than one means it was overwritten or hidden out of band."""
        pages = self._client.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=validate_key(key))
        versions, markers = [], []
        for page in pages:
            versions += [v["VersionId"] for v in page.get("Versions", []) if v["Key"] == key]
            markers += [m["VersionId"] for m in page.get("DeleteMarkers", []) if m["Key"] == key]
        if not versions and not markers:
            raise EvidenceNotFound(key)
        if len(versions) != 1 or markers:
            raise integrity_failure(key, f"write-once key has {len(versions)} versions and {len(markers)} "
                                         f"delete markers: overwritten or hidden out of band")
        return versions[0]


def _to_object(key: str, head: Mapping[str, Any]) -> EvidenceObject:
    metadata = dict(head.get("Metadata", {}))
    sha256 = metadata.pop(SHA256_METADATA, "")
    retain_until = head.get("ObjectLockRetainUntilDate")
    return EvidenceObject(
        key=key,
        sha256=sha256,
        size=int(head.get("ContentLength", 0)),
        content_type=head.get("ContentType", ""),
        retain_until=retain_until.astimezone(timezone.utc) if retain_until else _NO_RETENTION,
        legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
        created_at=head["LastModified"].astimezone(timezone.utc),
        metadata={k: v for k, v in metadata.items() if not k.startswith(RESERVED_METADATA_PREFIX)},
    )


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
