"""Encryption at rest of data-source credentials (Fernet; several keys = rotation).

``SEXTANT_ENCRYPTION_KEYS`` holds comma-separated Fernet keys: the first encrypts, every one of them
decrypts (``MultiFernet``), so a key is rotated by putting a new key first, running
``manage.py rotate_keys`` (re-encrypts every stored secret with the new key), then dropping the old one.

Embedded mode (no broker: one process reads and writes the secrets) may leave the variable unset: a key
is generated once into ``VAR_DIR/encryption_key`` (mode 0600).  With a broker configured, workers may run
on other machines that could not read that file, so the variable is required there.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "encryption_key"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / KEY_FILE_NAME


def _generated_key() -> str:
    path = _key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together never write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(Fernet.generate_key().decode("ascii"))
    return path.read_text(encoding="utf-8").strip()


def configured_keys() -> list[str]:
    """The Fernet keys in force, first = the one that encrypts."""
    raw = getattr(settings, "SEXTANT_ENCRYPTION_KEYS", "") or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if keys:
        return keys
    if getattr(settings, "CELERY_BROKER_URL", ""):
        raise ImproperlyConfigured(
            "SEXTANT_ENCRYPTION_KEYS must be set when CELERY_BROKER_URL is (workers on other machines must "
            "decrypt source credentials); generate one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    return [_generated_key()]


def _fernet() -> MultiFernet:
    fernets = []
    for position, key in enumerate(configured_keys(), start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise ImproperlyConfigured(
                f"SEXTANT_ENCRYPTION_KEYS: key #{position} is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return MultiFernet(fernets)


def encrypt(plaintext: str) -> str:
    """Ciphertext of ``plaintext`` under the first key; an empty secret stays empty."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str, *, what: str = "secret") -> str:
    """Plaintext of a stored secret; ``what`` names it in the error (never the secret itself)."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SecretDecryptionError(
            f"cannot decrypt the {what}: none of the configured SEXTANT_ENCRYPTION_KEYS fits "
            "(was a key removed before `manage.py rotate_keys` re-encrypted it?)"
        ) from None


def rotate(ciphertext: str, *, what: str = "secret") -> str:
    """The same secret re-encrypted under the first key (a no-op for an empty one)."""
    if not ciphertext:
        return ""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretDecryptionError(
            f"cannot re-encrypt the {what}: none of the configured SEXTANT_ENCRYPTION_KEYS fits"
        ) from None
