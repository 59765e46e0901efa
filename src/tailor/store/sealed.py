"""Secrets kept in the metadata database are sealed with a key derived from the server secret.

AES-256-GCM under HKDF-SHA256(server secret, info=purpose), with a random 96-bit nonce per value and
the row's identity as associated data (a sealed value copied onto another row does not open). The
server secret is ``TAILOR_SECRET_KEY`` or the generated ``<home>/secret`` file, which never enters the
database: a copy of the database alone reveals nothing it seals.

Stored form: ``v1.<urlsafe base64 of nonce + ciphertext + tag>``.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1."
_NONCE_BYTES = 12


class SealError(RuntimeError):
    """A sealed value cannot be opened: another server secret sealed it, or it was altered."""


@lru_cache(maxsize=16)
def _cipher(secret: str, purpose: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tailor/" + purpose).derive(
        secret.encode()
    )
    return AESGCM(key)


def seal(secret: str, purpose: bytes, plaintext: bytes, *, context: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(secret, purpose).encrypt(nonce, plaintext, context)
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(secret: str, purpose: bytes, value: str, *, context: bytes) -> bytes:
    if not value.startswith(VERSION):
        raise SealError("unknown sealed-value format")
    body = value[len(VERSION) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return _cipher(secret, purpose).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context)
    except (InvalidTag, ValueError) as e:
        raise SealError("the value was sealed with another server secret, or altered") from e
