"""Every HTTP entry point authenticates its caller before the handler runs: OIDC ID tokens on
gcp (verified with google-auth against a key we sign with here), development tokens locally."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from shared.bootstrap import Services
from shared.config import Settings
from shared.runtime import auth
from shared.runtime.entrypoints import HttpFunction
from shared.topology import TOPOLOGY

AUDIENCE = "https://us-central1-proj.cloudfunctions.net/sportsflow-reconciler"
INVOKER = "push-invoker@proj.iam.gserviceaccount.com"
ADMIN = "operator@proj.iam.gserviceaccount.com"


class _Response:
    def __init__(self, body: dict):
        self.status = 200
        self.data = json.dumps(body).encode()
        self.headers = {}


class _CertificateServer:
    """Stands in for https://www.googleapis.com/oauth2/v1/certs (no network in tests)."""

    def __init__(self, certificates: dict[str, str]):
        self.certificates = certificates
        self.fetches = 0

    def __call__(self, url, method="GET", **kwargs):
        self.fetches += 1
        return _Response(self.certificates)


def _key_and_certificate(key_id: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, key_id)])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return crypt.RSASigner.from_string(private_pem, key_id=key_id), \
        certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google_keys():
    signer, certificate = _key_and_certificate("google-key-1")
    forger, _ = _key_and_certificate("google-key-1")  # same key id, another key: a forgery
    return signer, forger, _CertificateServer({"google-key-1": certificate})


def _token(signer, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": INVOKER, "email_verified": True,
              "sub": "1234", "iat": now, "exp": now + 600, **overrides}
    return jwt.encode(signer, claims).decode()


def _oidc(server) -> auth.OidcVerifier:
    return auth.OidcVerifier((AUDIENCE,), frozenset({INVOKER}), frozenset({ADMIN}),
                             decode=auth.google_id_token_decoder(server))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_google_signed_token_for_this_audience_from_an_allowed_caller_is_accepted(google_keys):
    signer, _, server = google_keys
    caller = _oidc(server).verify(_bearer(_token(signer)))
    assert caller == auth.Caller(INVOKER, frozenset({auth.INVOKER}))
    assert _oidc(server).verify(_bearer(_token(signer, email=ADMIN))).is_admin


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ({"Authorization": "Bearer not-a-jwt"}, 401),
    ({"Authorization": "Bearer " + "x" * 9000}, 401),
])
def test_missing_or_malformed_credentials_are_unauthenticated(google_keys, headers, status):
    _, _, server = google_keys
    with pytest.raises(auth.AuthError) as refused:
        _oidc(server).verify(headers)
    assert refused.value.status == status


@pytest.mark.parametrize("case, status", [
    ("forged signature", 401),
    ("expired", 401),
    ("other issuer", 401),
    ("other audience", 403),
    ("caller not allowed", 403),
    ("unverified e-mail", 403),
])
def test_wrong_tokens_are_refused(google_keys, case, status):
    signer, forger, server = google_keys
    now = int(time.time())
    token = {
        "forged signature": lambda: _token(forger),
        "expired": lambda: _token(signer, iat=now - 7200, exp=now - 3600),
        "other issuer": lambda: _token(signer, iss="https://evil.example"),
        "other audience": lambda: _token(signer, aud="https://us-central1-proj.cloudfunctions.net/other"),
        "caller not allowed": lambda: _token(signer, email="intruder@proj.iam.gserviceaccount.com"),
        "unverified e-mail": lambda: _token(signer, email_verified=False),
    }[case]()
    with pytest.raises(auth.AuthError) as refused:
        _oidc(server).verify(_bearer(token))
    assert refused.value.status == status, refused.value


def test_the_certificates_are_fetched_once_not_per_request(google_keys):
    signer, _, _ = google_keys
    server = _CertificateServer(google_keys[2].certificates)
    verifier = _oidc(server)
    for _ in range(5):
        verifier.verify(_bearer(_token(signer)))
    assert server.fetches == 1


def test_gcp_settings_without_an_audience_refuse_to_build_a_verifier():
    with pytest.raises(ValueError, match="SPORTSFLOW_AUTH_AUDIENCES"):
        auth.verifier_for(Settings(backend="gcp"), env={})


def test_development_tokens_are_random_per_home_and_private(tmp_path: Path):
    verifier = auth.verifier_for(Settings(home=tmp_path), env={})
    token = (tmp_path / "dev-token").read_text()
    assert len(token) >= 32 and (tmp_path / "dev-token").stat().st_mode & 0o077 == 0
    assert verifier.verify(_bearer(token)).roles == {auth.INVOKER}
    assert verifier.verify(_bearer((tmp_path / "dev-admin-token").read_text())).is_admin
    assert auth.verifier_for(Settings(home=tmp_path / "other"), env={}).verify  # another home, another token
    assert (tmp_path / "other" / "dev-token").read_text() != token
    with pytest.raises(auth.Forbidden):
        verifier.verify(_bearer("guess"))


def test_configured_development_tokens_win_over_the_home_file(tmp_path: Path):
    verifier = auth.verifier_for(Settings(home=tmp_path), env={"SPORTSFLOW_DEV_TOKEN": "t" * 40})
    assert verifier.verify(_bearer("t" * 40)).identity == "dev-invoker"


# --- the entry point: nothing runs for a refused caller -------------------------------------
@pytest.fixture
def reconciler_function(tmp_path):
    calls = []
    services = Services(Settings(home=tmp_path))

    def handler(request):
        calls.append(auth.caller_of(request))
        return flask.Response("{}", status=200, mimetype="application/json")

    function = HttpFunction(TOPOLOGY.function("reconciler"), handler,
                            verifier=auth.DevTokenVerifier("good-token", "admin-token"),
                            services_factory=lambda: services)
    yield function, calls
    services.close()


@pytest.mark.parametrize("headers, status", [({}, 401), (_bearer("wrong"), 403)])
def test_the_handler_never_runs_for_a_refused_caller(reconciler_function, headers, status):
    function, calls = reconciler_function
    app = flask.Flask("t")
    with app.test_request_context("/", method="POST", headers=headers, json={}):
        response = function(flask.request)
    assert response.status_code == status and calls == []
    assert "error" in json.loads(response.get_data())
    assert (response.headers.get("WWW-Authenticate") is not None) == (status == 401)


def test_an_authenticated_caller_reaches_the_handler_with_its_identity(reconciler_function):
    function, calls = reconciler_function
    app = flask.Flask("t")
    with app.test_request_context("/", method="POST", headers=_bearer("admin-token"), json={}):
        assert function(flask.request).status_code == 200
    assert calls == [auth.Caller("dev-admin", frozenset({auth.INVOKER, auth.ADMIN}))]


def test_a_path_the_topology_does_not_list_is_not_found_and_unauthenticated_callers_learn_no_routes(
        reconciler_function):
    function, calls = reconciler_function
    app = flask.Flask("t")
    with app.test_request_context("/admin/x", method="DELETE", headers=_bearer("good-token")):
        assert function(flask.request).status_code == 404
    with app.test_request_context("/admin/x", method="DELETE"):
        response = function(flask.request)
    assert response.status_code == 401 and "serves" not in response.get_data(as_text=True)
    assert calls == []


def test_caller_supplied_ids_are_logged_only_when_they_are_short_plain_ids():
    from shared.runtime.entrypoints import _header_id
    assert _header_id("abc-123") == "abc-123"
    assert _header_id("x" * 7000) is None and _header_id("a b\nc") is None and _header_id(None) is None


def test_route_patterns_match_one_path_segment_per_parameter():
    from shared.runtime.http_limits import _route_pattern
    pattern = _route_pattern("/matches/{id}")
    assert pattern.fullmatch("/matches/42") and not pattern.fullmatch("/matches/42/x")
    assert not pattern.fullmatch("/matches/")
