"""Personal data at rest: AES-GCM encryption and a keyed hash for NHS-number lookups.

A referral's personal data is encrypted with the referral's own data key (api/referrals/
keys.py), so destroying that key at purge makes every copy unreadable (crypto-shredding):
``v2:`` + base64(nonce || ciphertext+tag). The master keys are derived (HKDF-SHA256, different
labels) from one configured secret, ``PETUNIA_ENCRYPTION_KEY``: one wraps the data keys, one
keys the lookup hash, and one encrypts what belongs to no referral (webhook secrets) and
referrals written before data keys existed (``v1:``, until ``petunia rekey``). The field's
name is the associated data, so a value copied into another column does not decrypt.
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
from api.referrals.keys import KeyDestroyed, KeyStore

_VERSION = "v1:"  # under the master key
_DATA_KEY = "v2:"  # under a referral's data key


class DecryptionError(RuntimeError):
    """Stored data does not decrypt with the configured key (wrong or changed key)."""


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def wrapping_key(secret: str) -> bytes:
    """The key-encryption key that wraps referrals' data keys in the key store."""
    return _derive(secret, b"petunia referral data key wrapping v1")


class Protector:
    """Encryption with the master key or, given ``key``, a referral's data key; ``keys`` is the
    key store those data keys live in (None for a protector that only uses the master key)."""

    def __init__(self, secret: str, keys: KeyStore | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the encryption key must be at least 16 characters")
        self._aead = AESGCM(_derive(secret, b"petunia personal data encryption v1"))
        self._mac_key = _derive(secret, b"petunia nhs number lookup v1")
        self._keys = keys

    @property
    def keys(self) -> KeyStore:
        if self._keys is None:
            raise RuntimeError("this protector has no key store")
        return self._keys

    def data_key(self, key_id: str | None) -> bytes | None:
        """A referral's data key; None for a referral written before data keys (its data is
        under the master key until `petunia rekey`); KeyDestroyed once purged."""
        return None if key_id is None else self.keys.get(key_id)

    def encrypt(self, field: str, value: str, key: bytes | None = None) -> str:
        nonce = os.urandom(12)
        if key is None:
            sealed = self._aead.encrypt(nonce, value.encode(), field.encode())
            return _VERSION + base64.b64encode(nonce + sealed).decode()
        sealed = AESGCM(key).encrypt(nonce, value.encode(), field.encode())
        return _DATA_KEY + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, field: str, token: str, key: bytes | None = None) -> str:
        if token.startswith(_VERSION):
            aead, raw = self._aead, base64.b64decode(token[len(_VERSION) :])
        elif token.startswith(_DATA_KEY):
            if key is None:
                raise KeyDestroyed(f"{field} is under a referral's data key, which is not given")
            aead, raw = AESGCM(key), base64.b64decode(token[len(_DATA_KEY) :])
        else:
            raise DecryptionError(f"unknown format of encrypted {field}")
        try:
            return aead.decrypt(raw[:12], raw[12:], field.encode()).decode()
        except InvalidTag:
            raise DecryptionError(
                f"encrypted {field} does not decrypt: is PETUNIA_ENCRYPTION_KEY the key it "
                "was written with?"
            ) from None

    def encrypt_json(self, field: str, value: dict[str, Any], key: bytes | None = None) -> str:
        return self.encrypt(field, json.dumps(value, sort_keys=True, separators=(",", ":")), key)

    def decrypt_json(
        self, field: str, token: str | None, key: bytes | None = None
    ) -> dict[str, Any] | None:
        return None if token is None else json.loads(self.decrypt(field, token, key))

    def lookup_hash(self, nhs_number: str) -> str:
        """HMAC-SHA256 under the master-derived key: equal inputs give equal hashes, and
        without the key nobody can test guesses. The NHS-number column uses ``nhs_hash``
        (a key that purge replaces); this one keys idempotency and older rows."""
        return hmac.new(self._mac_key, nhs_number.encode(), hashlib.sha256).hexdigest()

    def nhs_hash(self, nhs_number: str) -> str:
        """The stored lookup hash of a (normalised) NHS number: HMAC-SHA256 under the newest
        lookup key in the key store."""
        _key_id, key = self.keys.lookup_keys()[0]
        return keyed_hash(key, nhs_number)

    def nhs_hashes(self, nhs_number: str) -> list[str]:
        """Every hash a stored referral of this NHS number may carry: under each live lookup
        key, and under the master-derived key (referrals from before `petunia rekey`)."""
        hashes = [keyed_hash(key, nhs_number) for _key_id, key in self.keys.lookup_keys()]
        return [*hashes, self.lookup_hash(nhs_number)]


@lru_cache(maxsize=8)
def _protector(secret: str, key_store_url: str) -> Protector:
    return Protector(secret, KeyStore(key_store_url, wrapping_key(secret)))


def protector(settings: Settings) -> Protector:
    return _protector(settings.secret("encryption_key"), settings.resolved_key_store_url)


__all__ = ["DecryptionError", "KeyDestroyed", "KeyStore", "Protector", "protector"]
