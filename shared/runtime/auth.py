"""Who may call an HTTP function (SPEC §5 Security).

On `gcp` the platform already refuses callers without `roles/run.invoker` (infra/functions.tf);
the function verifies again, in depth: the bearer token must be a Google-signed OIDC ID token
whose audience is this function and whose caller is an allowed service account. Locally
(`local`, `emulator`) a configured development token stands in for it. No token → 401, a
token that is wrong for this function → 403, and the handler never runs.

Settings (set by Terraform from the topology on gcp):
    SPORTSFLOW_AUTH_AUDIENCES     comma-separated audiences this function accepts (its URLs)
    SPORTSFLOW_ALLOWED_INVOKERS   comma-separated service-account e-mails allowed to call it
    SPORTSFLOW_ADMIN_PRINCIPALS   the subset that also holds the "admin" role
    SPORTSFLOW_DEV_TOKEN          local/emulator: the invoker token (default: a random token kept
                                  in `<home>/dev-token`, created on first use, mode 0600)
    SPORTSFLOW_DEV_ADMIN_TOKEN    local/emulator: a token that also holds the "admin" role
                                  (default: `<home>/dev-admin-token`)
"""
from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from shared.config import Settings

INVOKER = "invoker"
ADMIN = "admin"
CALLER_KEY = "sportsflow.caller"
MAX_AUTHORIZATION_CHARS = 8192  # an ID token is ~1 KB; anything far longer is not one
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")


class AuthError(Exception):
    status = 401


class Unauthenticated(AuthError):
    """No credentials, or credentials that are not a valid token at all."""
    status = 401


class Forbidden(AuthError):
    """A valid identity that may not call this function."""
    status = 403


@dataclass(frozen=True)
class Caller:
    identity: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


def bearer_token(headers: Mapping[str, str]) -> str:
    value = headers.get("Authorization") or ""
    if len(value) > MAX_AUTHORIZATION_CHARS:
        raise Unauthenticated("the Authorization header is too long to be a bearer token")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>' (an OIDC ID token on gcp, "
                              "SPORTSFLOW_DEV_TOKEN locally)")
    return token.strip()


class DevTokenVerifier:
    """local / emulator: constant-time comparison against the configured development tokens."""

    def __init__(self, invoker_token: str, admin_token: str | None = None):
        if not invoker_token:
            raise ValueError("a development token must not be empty")
        self._invoker = invoker_token
        self._admin = admin_token or None

    def verify(self, headers: Mapping[str, str]) -> Caller:
        token = bearer_token(headers)
        if self._admin and hmac.compare_digest(token.encode(), self._admin.encode()):
            return Caller("dev-admin", frozenset({INVOKER, ADMIN}))
        if hmac.compare_digest(token.encode(), self._invoker.encode()):
            return Caller("dev-invoker", frozenset({INVOKER}))
        raise Forbidden("this token is not the development token of this deployment (SPORTSFLOW_DEV_TOKEN)")


# token -> verified claims (signature and expiry checked; the audience is checked by the verifier)
TokenDecoder = Callable[[str], Mapping[str, Any]]


class OidcVerifier:
    """gcp: a Google-signed ID token for one of `audiences`, from an allowed service account."""

    def __init__(self, audiences: tuple[str, ...], invokers: frozenset[str], admins: frozenset[str] = frozenset(),
                 decode: TokenDecoder | None = None):
        if not audiences:
            raise ValueError("OIDC verification needs the function's audience (SPORTSFLOW_AUTH_AUDIENCES)")
        self.audiences = audiences
        self.invokers = invokers | admins
        self.admins = admins
        self._decode = decode or google_id_token_decoder()

    def verify(self, headers: Mapping[str, str]) -> Caller:
        token = bearer_token(headers)
        try:
            claims = self._decode(token)
        except Exception as err:  # google-auth raises ValueError / GoogleAuthError variants
            raise Unauthenticated(f"the bearer token is not a valid, unexpired Google ID token "
                                  f"({type(err).__name__})") from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthenticated("the ID token was not issued by Google")
        audience = claims.get("aud")
        if audience not in self.audiences:
            raise Forbidden("the ID token is for another audience than this function")
        email = claims.get("email")
        if not email or claims.get("email_verified") is not True:
            raise Forbidden("the ID token carries no verified service-account e-mail")
        if email not in self.invokers:
            raise Forbidden(f"{email} may not call this function")
        roles = {INVOKER} | ({ADMIN} if email in self.admins else set())
        return Caller(email, frozenset(roles))


def google_id_token_decoder(request=None) -> TokenDecoder:
    """google-auth's verification (signature, expiry, audience) with Google's certificates
    fetched once an hour, not per request."""
    from google.oauth2 import id_token

    transport = _CachingRequest(request)

    def decode(token: str) -> Mapping[str, Any]:
        return id_token.verify_token(token, transport, audience=None, clock_skew_in_seconds=10)

    return decode


class _CachingRequest:
    """A google.auth transport Request that keeps GET responses (the public certificates) for an hour."""
    TTL_S = 3600

    def __init__(self, request=None):
        if request is None:
            from google.auth.transport.requests import Request
            request = Request()
        self._request = request
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", **kwargs):
        if method != "GET":
            return self._request(url, method=method, **kwargs)
        with self._lock:
            cached = self._cache.get(url)
            if cached and time.monotonic() - cached[0] < self.TTL_S:
                return cached[1]
        response = self._request(url, method=method, **kwargs)
        if response.status == 200:
            with self._lock:
                self._cache[url] = (time.monotonic(), response)
        return response


def verifier_for(settings: "Settings", env: Mapping[str, str] | None = None):
    """The verifier of a deployment: OIDC on gcp, the development tokens elsewhere."""
    env = os.environ if env is None else env
    if settings.backend == "gcp":
        return OidcVerifier(audiences=_listed(env.get("SPORTSFLOW_AUTH_AUDIENCES")),
                            invokers=frozenset(_listed(env.get("SPORTSFLOW_ALLOWED_INVOKERS"))),
                            admins=frozenset(_listed(env.get("SPORTSFLOW_ADMIN_PRINCIPALS"))))
    return DevTokenVerifier(env.get("SPORTSFLOW_DEV_TOKEN") or dev_token(settings.home, "dev-token"),
                            env.get("SPORTSFLOW_DEV_ADMIN_TOKEN") or dev_token(settings.home, "dev-admin-token"))


def dev_token(home: Path, name: str) -> str:
    """A random development token kept in the home (created once, atomically, readable by its owner only)."""
    path = home / name
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        draft = home / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)  # fails if another process got there first: theirs stands
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def caller_of(request) -> Caller:
    """The verified caller of the current request (set by the HTTP entry point before the handler runs)."""
    caller = request.environ.get(CALLER_KEY)
    if not isinstance(caller, Caller):
        raise Unauthenticated("the request was not authenticated by the HTTP entry point")
    return caller


def require_admin(request) -> Caller:
    """For admin routes: the caller, or Forbidden (403) when it lacks the admin role."""
    caller = caller_of(request)
    if not caller.is_admin:
        raise Forbidden(f"{caller.identity} is not an admin")
    return caller
