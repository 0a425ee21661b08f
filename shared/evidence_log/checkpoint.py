"""Checkpoints of the evidence log: C2SP tlog-checkpoint bodies in C2SP signed notes (Ed25519).

    sportsflow.local/evidence-log          <- origin (also the key name)
    12913                                  <- tree size, decimal
    n5Yt...base64 root hash...=            <- RFC 9162 root, standard base64
                                           <- blank line ends the note text
    — sportsflow.local/evidence-log AbCd...base64(key ID || Ed25519 signature)...

key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]; the signature covers the note text
including its final newline. The verifier key is written the way Go's `golang.org/x/mod/sumdb/note`
and transparency-dev tooling read it: `<name>+<key ID hex>+<base64(0x01 || public key)>`.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
DEFAULT_ORIGIN = "sportsflow.local/evidence-log"


class CheckpointError(ValueError):
    """A checkpoint that cannot be parsed or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class LogSigner:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key.public_key())

    def verifier_key(self) -> str:
        return (f"{self.name}+{key_id(self.name, self.public_key).hex()}+"
                f"{base64.b64encode(ED25519 + self.public_key).decode()}")

    def sign(self, checkpoint: Checkpoint) -> str:
        text = checkpoint.body()
        signature = self.private_key.sign(text.encode())
        stamp = base64.b64encode(key_id(self.name, self.public_key) + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {stamp}\n"


def load_or_create_signer(path: Path, name: str = DEFAULT_ORIGIN) -> LogSigner:
    """The log's signing key from `path` (PEM, PKCS#8), created with mode 0600 on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError(f"{path} is not an Ed25519 private key")
        return LogSigner(name, key)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return LogSigner(name, key)


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, verifier_key: str) -> "Verifier":
        try:
            name, hash_hex, encoded = verifier_key.strip().split("+", 2)  # base64 may hold "+" too
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise CheckpointError(f"verifier key {verifier_key!r} is not NAME+KEYID+BASE64") from None
        if raw[:1] != ED25519 or len(raw) != 33:
            raise CheckpointError("verifier key is not an Ed25519 (type 0x01) key")
        if key_id(name, raw[1:]).hex() != hash_hex:
            raise CheckpointError("verifier key's ID does not match its name and public key")
        return cls(name, bytes.fromhex(hash_hex), Ed25519PublicKey.from_public_bytes(raw[1:]))

    def open(self, note: str) -> Checkpoint:
        """The checkpoint of a signed note, if this key signed it; CheckpointError saying why not."""
        text, separator, signatures = note.partition("\n\n")
        if not separator:
            raise CheckpointError("not a signed note: no blank line before the signatures")
        text += "\n"
        verified = False
        for line in signatures.splitlines():
            if not line.startswith(SIGNATURE_PREFIX):
                raise CheckpointError(f"malformed signature line {line!r}")
            name, _, stamp = line[len(SIGNATURE_PREFIX):].rpartition(" ")
            try:
                raw = base64.b64decode(stamp, validate=True)
            except ValueError:
                raise CheckpointError(f"signature of {name!r} is not base64") from None
            if name != self.name or raw[:4] != self.key_id:
                continue  # another key's signature (a witness): not ours to check
            try:
                self.public_key.verify(raw[4:], text.encode())
            except InvalidSignature:
                raise CheckpointError(f"signature of {name!r} does not verify: the checkpoint was forged "
                                      f"or altered") from None
            verified = True
        if not verified:
            raise CheckpointError(f"no signature by {self.name!r} on the checkpoint")
        return parse_body(text)


def parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("checkpoint body needs origin, size and root lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
        raise CheckpointError(f"checkpoint size {size!r} is not a decimal number")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except ValueError:
        raise CheckpointError("checkpoint root is not base64") from None
    if len(root_bytes) != 32:
        raise CheckpointError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size), root_bytes)
