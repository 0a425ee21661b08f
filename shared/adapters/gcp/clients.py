"""Google clients pointed at an explicit emulator endpoint, or (endpoint None) built as the
library builds them by default — which, for a process started with the emulator variables in
its environment (functions-framework under `sportsflow dev`), still honours them.

Explicit endpoints never go through os.environ, so two Services for two homes in one process
each talk to their own emulators. Each emulator speaks plaintext and wants no credentials.
"""
from __future__ import annotations

import grpc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, firestore, pubsub_v1, storage
from google.pubsub_v1.services.publisher.transports.grpc import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports.grpc import SubscriberGrpcTransport

# gRPC's default 4 MB receive limit would stall a subscription on a larger message (Pub/Sub
# allows 10 MB); the library's channel to the real service has no limit either.
_UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def publisher_client(endpoint: str | None, options: pubsub_v1.types.PublisherOptions) -> pubsub_v1.PublisherClient:
    if endpoint is None:
        return pubsub_v1.PublisherClient(publisher_options=options)
    channel = grpc.insecure_channel(endpoint, options=_UNLIMITED)
    return pubsub_v1.PublisherClient(publisher_options=options,
                                     transport=PublisherGrpcTransport(channel=channel))


def subscriber_client(endpoint: str) -> pubsub_v1.SubscriberClient:
    channel = grpc.insecure_channel(endpoint, options=_UNLIMITED)
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


class _EmulatorFirestoreClient(firestore.Client):
    """firestore.Client has no public setting for an emulator host, only FIRESTORE_EMULATOR_HOST,
    read once in __init__ into `_emulator_host`, which then selects the plaintext channel, the
    target and the emulator's `Bearer owner` metadata (google-cloud-firestore 2.x base_client).
    Setting that attribute after __init__ is the smallest seam; tests/adapters/test_explicit_endpoints.py
    fails if a library release moves it."""

    def __init__(self, project: str, database: str, endpoint: str):
        super().__init__(project=project, database=database, credentials=AnonymousCredentials())
        self._emulator_host = endpoint


def firestore_client(project: str, database: str, endpoint: str | None) -> firestore.Client:
    if endpoint is None:
        return firestore.Client(project=project, database=database)
    return _EmulatorFirestoreClient(project, database, endpoint)


def storage_client(project: str, endpoint: str | None) -> storage.Client:
    if endpoint is None:
        return storage.Client(project=project)
    # An explicit api_endpoint wins over STORAGE_EMULATOR_HOST (google-cloud-storage's rule 1).
    return storage.Client(project=project, credentials=AnonymousCredentials(),
                          client_options=ClientOptions(api_endpoint=endpoint))


def bigquery_emulator_client(project: str, endpoint: str) -> bigquery.Client:
    """A client for bqemulator at `endpoint` ("http://127.0.0.1:P")."""
    return bigquery.Client(project, credentials=AnonymousCredentials(),
                           client_options=ClientOptions(api_endpoint=endpoint))
