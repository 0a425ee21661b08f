"""The IAM grants of each function's service account, from its topology entry: what Terraform
(infra/function_iam.tf) grants, as a table for people and tests. Resource-level wherever the
resource has IAM (topics, datasets, buckets); project-level only for Firestore (no
resource-level IAM) and BigQuery jobs (a job belongs to the project)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.topology.model import FunctionSpec, Topology

EVIDENCE_RETENTION_ROLE = "sportsflowEvidenceRetentionSetter (storage.objects.setRetention)"
BUCKET_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "evidence:read": (("bucket:evidence", "roles/storage.objectViewer"),),
    "evidence:write": (("bucket:evidence", "roles/storage.objectCreator"),
                       ("bucket:evidence", EVIDENCE_RETENTION_ROLE)),
    "raw:read": (("bucket:raw", "roles/storage.objectViewer"),),
    "raw:write": (("bucket:raw", "roles/storage.objectCreator"),),
}
DATASET_ROLES = {"read": "roles/bigquery.dataViewer", "write": "roles/bigquery.dataEditor"}


@dataclass(frozen=True, order=True)
class Grant:
    resource: str  # "project", "topic:<name>", "dataset:<name>", "bucket:evidence|raw"
    role: str


def grants_of(spec: FunctionSpec, topology: Topology) -> list[Grant]:
    grants = {Grant(f"topic:{topic}", "roles/pubsub.publisher") for topic in spec.publishes}
    grants |= {Grant(f"topic:{sub.dead_letter_topic}", "roles/pubsub.publisher") for sub in topology.subscriptions
               if sub.push_function == spec.name and sub.dead_letter_topic}
    for token in spec.access:
        if token == "documents":
            grants.add(Grant("project", "roles/datastore.user"))
        elif token.startswith("bigquery:"):
            _, mode, dataset = token.split(":")
            grants |= {Grant("project", "roles/bigquery.jobUser"), Grant(f"dataset:{dataset}", DATASET_ROLES[mode])}
        else:
            grants |= {Grant(resource, role) for resource, role in BUCKET_ROLES[token]}
    return sorted(grants)


def grant_table(topology: Topology) -> str:
    """Markdown: function → roles → resources."""
    rows = ["| function | role | resources |", "|---|---|---|"]
    for spec in topology.functions:
        by_role: dict[str, list[str]] = {}
        for grant in grants_of(spec, topology):
            by_role.setdefault(grant.role, []).append(grant.resource)
        for role, resources in sorted(by_role.items()):
            rows.append(f"| {spec.name} | {role} | {', '.join(resources)} |")
    return "\n".join(rows) + "\n"
