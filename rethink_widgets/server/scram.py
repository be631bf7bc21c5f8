"""SCRAM-SHA-256 (RFC 5802) as RethinkDB uses it: stored credentials and the server's side of the exchange.

Only the salted keys are stored (`StoredKey`, `ServerKey`), never the password, so a stolen data directory does not
reveal it, and checking a proof needs no password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

ITERATIONS = 4096
SALT_BYTES = 16
NONCE_BYTES = 18
KEY_BYTES = hashlib.sha256().digest_size


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def make_credentials(password: str, iterations: int = ITERATIONS) -> dict[str, Any]:
    """Credentials for a password: salt, iterations, StoredKey and ServerKey, base64 encoded."""
    salt = secrets.token_bytes(SALT_BYTES)
    # The driver encodes passwords as latin-1 bytes when it can, like RethinkDB's own clients.
    salted = hashlib.pbkdf2_hmac("sha256", _password_bytes(password), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return {
        "salt": _b64(salt),
        "iterations": iterations,
        "stored_key": _b64(hashlib.sha256(client_key).digest()),
        "server_key": _b64(_hmac(salted, b"Server Key")),
        "password": password != "",
    }


def _password_bytes(password: str) -> bytes:
    try:
        return password.encode("latin-1")
    except UnicodeEncodeError:
        return password.encode("utf-8")


def decoy_credentials() -> dict[str, Any]:
    """Credentials for an unknown user: the exchange goes on and fails only at the proof, as RethinkDB does.

    Random salt and keys, no PBKDF2: checking a real user's proof never hashes a password either (only the client
    does), so an unknown name costs the server what a known one does, and a flood of them costs next to nothing.
    """
    return {
        "salt": _b64(secrets.token_bytes(SALT_BYTES)),
        "iterations": ITERATIONS,
        "stored_key": _b64(secrets.token_bytes(KEY_BYTES)),
        "server_key": _b64(secrets.token_bytes(KEY_BYTES)),
        "password": True,
    }


class Exchange:
    """The server's half of one SCRAM exchange."""

    def __init__(self, credentials: dict[str, Any], client_first_bare: str, client_nonce: str) -> None:
        self.credentials = credentials
        self.nonce = client_nonce + _b64(secrets.token_bytes(NONCE_BYTES))
        self.server_first = f"r={self.nonce},s={credentials['salt']},i={credentials['iterations']}"
        self.client_first_bare = client_first_bare

    def verify(self, client_final_bare: str, proof_b64: str) -> str | None:
        """The server signature (`v=...` payload) if the proof is right, else None."""
        auth_message = f"{self.client_first_bare},{self.server_first},{client_final_bare}".encode()
        stored_key = base64.b64decode(self.credentials["stored_key"])
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            return None
        signature = _hmac(stored_key, auth_message)
        if len(proof) != len(signature):
            return None
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key):
            return None
        server_key = base64.b64decode(self.credentials["server_key"])
        return _b64(_hmac(server_key, auth_message))
