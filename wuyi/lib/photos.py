"""Photos people take on site (a disinfected lift, a bag left at a door): told by their
content, never by the name or type the phone sent, so that a "photo.html" is refused and a
picture is stored and served under the extension it really has."""

from typing import Any

from django.utils.translation import gettext as _

from .errors import Refused

MAX_PHOTO_BYTES = 8 * 1024 * 1024
PHOTO_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heic": "image/heic",
}


def photo_kind(head: bytes) -> str | None:
    """The extension for a file's first 16 bytes, or None when they are no picture's."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    return None


def check_photo(upload: Any) -> str:
    """An uploaded photo: a picture, at most MAX_PHOTO_BYTES. Returns its extension."""
    if upload.size > MAX_PHOTO_BYTES:
        raise Refused(
            _("The photo is larger than %(mb)d MB.") % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)},
            field="photo",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = photo_kind(head)
    if kind is None:
        raise Refused(_("Send a photo (JPEG, PNG, WebP or HEIC)."), field="photo")
    return kind
