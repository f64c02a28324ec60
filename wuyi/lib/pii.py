"""Personal data at rest: Fernet ciphertext plus a keyed hash for lookups and uniqueness.

The keys come from WUYI_PII_KEY (production sets it; losing it loses the encrypted values) or,
in the embedded default, are derived from SECRET_KEY. The encryption key and the hash key are
derived separately so that neither can stand in for the other. The keys are read once per
process.
"""

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derive(info: bytes) -> bytes:
    master = (settings.WUYI_PII_KEY or settings.SECRET_KEY).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wuyi-pii", info=info).derive(master)


@functools.cache
def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(b"fernet")))


@functools.cache
def _hash_key() -> bytes:
    return _derive(b"hmac")


def keyed_hash(value: str) -> str:
    """Keyed hash of a normalised value (an ID number): the same value always gives the same
    64 hex characters, and nobody without the key can compute it from a guess."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
