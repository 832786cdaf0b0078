"""Sealing stored request and response bodies: AES-256-GCM from `cryptography`.

A sealed body is b"SY1" + a 12-byte random nonce + ciphertext with its tag; the
key is 32 bytes, given base64-encoded in the environment variable that the
config's logging.encryption_key_env names."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError

_MAGIC = b"SY1"


class BodyCipher:
    def __init__(self, key: bytes, name: str):
        self._aead = AESGCM(key)
        self.name = name  # the environment variable that held the key, for error messages

    @classmethod
    def from_env(cls, name: str) -> BodyCipher:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"logging.encryption_key_env: environment variable {name} is not set")
        try:
            key = base64.b64decode(value, validate=True)
        except binascii.Error:
            key = b""
        if len(key) != 32:
            raise ConfigError(f"logging.encryption_key_env: {name} must hold 32 bytes, base64-encoded "
                              "(make one with: openssl rand -base64 32)")
        return cls(key, name)

    def seal(self, body: bytes) -> bytes:
        nonce = os.urandom(12)
        return _MAGIC + nonce + self._aead.encrypt(nonce, body, _MAGIC)

    def open(self, sealed: bytes) -> bytes:
        if not sealed.startswith(_MAGIC):
            return sealed  # stored before encryption was turned on
        try:
            return self._aead.decrypt(sealed[3:15], sealed[15:], _MAGIC)
        except InvalidTag:  # another key, or a tampered row: the tag check refuses both
            raise ConfigError(f"logging.encryption_key_env: {self.name} does not open the stored bodies "
                              "(they were sealed with another key, or altered)") from None
