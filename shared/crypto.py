"""Field encryption for personal data kept in databases (identity numbers, objection reporters).

One way for every service: AES-256-GCM with a key derived from the data key (HKDF-SHA256, a
distinct key per purpose, so a key leaked from one purpose opens nothing else), and a keyed
blind index (HMAC-SHA256) for the rare lookup by exact value without decrypting.

Ciphertexts are `v1.<base64url(nonce + ciphertext + tag)>`; the prefix leaves room to rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"


class DecryptionFailed(Exception):
    """Wrong key, wrong purpose, or a tampered value."""


def _derive(secret: str, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"dossier-field-crypto",
                info=info.encode()).derive(secret.encode())


class FieldCipher:
    """Encrypts short strings for one purpose, e.g. `FieldCipher(key, "intake.id_number")`."""

    def __init__(self, secret: str, purpose: str) -> None:
        self.purpose = purpose
        self._aead = AESGCM(_derive(secret, f"encrypt:{purpose}"))
        self._index_key = _derive(secret, f"index:{purpose}")

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        # The purpose is bound as associated data: a value copied to another column fails.
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self.purpose.encode())
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, _, body = token.partition(".")
        if version != _VERSION or not body:
            raise DecryptionFailed("unknown ciphertext format")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return self._aead.decrypt(raw[:12], raw[12:], self.purpose.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("cannot decrypt") from exc

    def blind_index(self, value: str) -> str:
        """Deterministic keyed hash: equal inputs match, the input cannot be recovered."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """`110105199001011234` → `110***********1234`; short values are masked whole."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key of its own for `purpose` (e.g. the audit chain's), derived from `secret`."""
    return _derive(secret, purpose)
