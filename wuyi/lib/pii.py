"""Personal data at rest: Fernet ciphertext plus a keyed hash for lookups and uniqueness.

The keys come from WUYI_PII_KEY. Production must set it (``check --deploy`` fails without it,
and nothing is derived from SECRET_KEY once DEBUG is off); losing it loses the encrypted
values. The embedded default (DEBUG on) derives a key from SECRET_KEY so the demo runs.

Rotation: set WUYI_PII_KEY to "new-key,old-key". Values are encrypted and hashed with the first
key and decrypted with any of them; ``manage.py rotate_pii_key`` re-encrypts and re-hashes what
was stored under an older key, then the old key can be dropped. Until it has run, a search by
a whole ID number finds only the residents already rotated.

The encryption key and the hash key are derived separately (HKDF) so that neither can stand in
for the other. The keys are read once per process.
"""

import base64
import functools
import hashlib
import hmac
import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def _masters() -> list[bytes]:
    keys = [k.strip() for k in (settings.WUYI_PII_KEY or "").split(",") if k.strip()]
    if keys:
        return [k.encode() for k in keys]
    if not settings.DEBUG:
        raise ImproperlyConfigured("WUYI_PII_KEY must be set when DEBUG is off.")
    return [settings.SECRET_KEY.encode()]


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wuyi-pii", info=info).derive(master)


@functools.cache
def _fernets() -> tuple[Fernet, ...]:
    return tuple(Fernet(base64.urlsafe_b64encode(_derive(m, b"fernet"))) for m in _masters())


@functools.cache
def _multi() -> MultiFernet:
    return MultiFernet(list(_fernets()))


@functools.cache
def _hash_key() -> bytes:
    return _derive(_masters()[0], b"hmac")


def keyed_hash(value: str) -> str:
    """Keyed hash of a normalised value (an ID number): the same value always gives the same
    64 hex characters, and nobody without the key can compute it from a guess."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def keyed_hashes(values) -> list[str]:
    """keyed_hash of each value, the key schedule computed once (an SMS batch of thousands)."""
    base = hmac.new(_hash_key(), digestmod=hashlib.sha256)
    out = []
    for value in values:
        mac = base.copy()
        mac.update(value.encode())
        out.append(mac.hexdigest())
    return out


def encrypt(value: str) -> str:
    return _fernets()[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _multi().decrypt(token.encode()).decode()


def is_current(token: str) -> bool:
    """True when `token` was encrypted with the first (current) key."""
    try:
        _fernets()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


# Columns that hold (or stand for) a person's phone number, birth date or ID number, whatever
# the model: a masked role must not filter, search or sort on them anywhere (the admin's
# lookups, history), since a prefix or range answered "1 row" or "0 rows" rebuilds the value.
# By name, so that a column added tomorrow (driver_phone, phone_last4) is covered at once.
_PERSONAL_NAME = re.compile(
    r"(^|_)phone($|_)|(^|_)mobile($|_)|^birth|(^|_)birth_date$|^id_(cipher|hash|last4)$"
    r"|national_id"
)


def is_personal_name(name: str) -> bool:
    """True for a column name that holds a phone, a birth date or an ID number."""
    return bool(_PERSONAL_NAME.search(name))


def is_personal_field(field: Any) -> bool:
    """True for a model field (concrete, not a relation) that holds personal data."""
    return (
        not getattr(field, "is_relation", False)
        and bool(getattr(field, "concrete", False))
        and is_personal_name(field.name)
    )


@checks.register(checks.Tags.security, deploy=True)
def check_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """check --deploy: production sets its own personal-data key."""
    if settings.WUYI_PII_KEY.strip():
        return []
    return [
        checks.Error(
            "WUYI_PII_KEY is not set: ID numbers would be encrypted with a key derived from "
            "SECRET_KEY. Set WUYI_PII_KEY (and keep it safe) before going live.",
            id="wuyi.E001",
        )
    ]
