"""Personal data at rest: AES-GCM encryption and a keyed hash for NHS-number lookups.

Both keys are derived (HKDF-SHA256, different labels) from one configured secret,
``PETUNIA_ENCRYPTION_KEY``, so the lookup hash cannot be reversed with the encryption key's
output and neither can be computed without the secret. Ciphertexts are stored as text:
``v1:`` + base64(nonce || ciphertext+tag), with the field's name as associated data, so a value
copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from api.config import Settings

_VERSION = "v1:"


class DecryptionError(RuntimeError):
    """Stored data does not decrypt with the configured key (wrong or changed key)."""


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


class Protector:
    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the encryption key must be at least 16 characters")
        self._aead = AESGCM(_derive(secret, b"petunia personal data encryption v1"))
        self._mac_key = _derive(secret, b"petunia nhs number lookup v1")

    def encrypt(self, field: str, value: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), field.encode())
        return _VERSION + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, field: str, token: str) -> str:
        if not token.startswith(_VERSION):
            raise DecryptionError(f"unknown format of encrypted {field}")
        raw = base64.b64decode(token[len(_VERSION) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except InvalidTag:
            raise DecryptionError(
                f"encrypted {field} does not decrypt: is PETUNIA_ENCRYPTION_KEY the key it "
                "was written with?"
            ) from None

    def encrypt_json(self, field: str, value: dict[str, Any]) -> str:
        return self.encrypt(field, json.dumps(value, sort_keys=True, separators=(",", ":")))

    def decrypt_json(self, field: str, token: str | None) -> dict[str, Any] | None:
        return None if token is None else json.loads(self.decrypt(field, token))

    def lookup_hash(self, nhs_number: str) -> str:
        """HMAC-SHA256 of a (normalised) NHS number: equal numbers give equal hashes, and
        without the key nobody can test guesses against the stored hashes."""
        return hmac.new(self._mac_key, nhs_number.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _protector(secret: str) -> Protector:
    return Protector(secret)


def protector(settings: Settings) -> Protector:
    return _protector(settings.secret("encryption_key"))
