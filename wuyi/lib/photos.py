"""Photos people take on site (a disinfected lift, a bag left at a door): told by their
content, never by the name or type the phone sent, and re-encoded on arrival.

A phone's photo carries where it was taken (EXIF GPS), the phone's make and model and more;
every reader of the round or the order would get them. And a picture's header may promise
30,000 × 30,000 pixels in a 109 KB file (a decompression bomb). So :func:`clean_photo` keeps
nothing of the upload but its pixels: the header is read first and a picture of more than
MAX_PIXELS is refused before anything is decoded; the rest is decoded (a JPEG at a reduced
scale when it is large), turned upright as the phone meant it (EXIF orientation), scaled to
at most MAX_EDGE pixels on its long side and written anew as a JPEG without any metadata.

The body of a request that carries a photo is bounded before it is read: a view that takes
one is marked with :func:`accepts_photo`, and wuyi.middleware.BodyLimitMiddleware refuses a
longer body from its Content-Length, before the CSRF check parses the form.
"""

import io
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import Refused

MAX_PHOTO_BYTES = 8 * 1024 * 1024
# A request carrying a photo: the photo and the form's other fields.
MAX_BODY_BYTES = MAX_PHOTO_BYTES + 256 * 1024
# 40 megapixels: more than any phone's camera writes (a 200 MP sensor saves 12 MP by
# default), far less than a bomb. Decoded, 40 MP of RGB is 120 MB: the most one upload costs.
MAX_PIXELS = 40_000_000
# What is kept: the long edge in pixels, and the JPEG quality (a 2048 px photo of a lift
# door is 300-600 KB).
MAX_EDGE = 2048
JPEG_QUALITY = 82
PHOTO_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heic": "image/heic",
}
# Pillow's format names for each kind: a file is opened only as what its first bytes say.
_FORMATS = {"jpg": ["JPEG"], "png": ["PNG"], "webp": ["WEBP"], "heic": ["HEIF"]}

MSG_TOO_BIG = gettext_lazy("The photo is larger than %(mb)d MB.")


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
        raise Refused(MSG_TOO_BIG % {"mb": MAX_PHOTO_BYTES // (1024 * 1024)}, field="photo")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = photo_kind(head)
    if kind is None:
        raise Refused(_("Send a photo (JPEG, PNG, WebP or HEIC)."), field="photo")
    return kind


def _too_many_pixels(width: int, height: int) -> Refused:
    return Refused(
        _(
            "The photo has too many pixels (%(width)d × %(height)d); send one of at most "
            "%(mp)d million pixels, as the phone's camera takes it."
        )
        % {"width": width, "height": height, "mp": MAX_PIXELS // 1_000_000},
        field="photo",
    )


def _unreadable() -> Refused:
    return Refused(_("The photo cannot be read: take it again."), field="photo")


def clean_photo(upload: Any) -> ContentFile:
    """The upload as a new JPEG: upright, at most MAX_EDGE pixels on its long side, without
    metadata. Refused (field "photo"): more than MAX_PHOTO_BYTES, not a picture, more than
    MAX_PIXELS (read from the header, before decoding), a picture that does not decode."""
    from PIL import Image, ImageOps

    kind = check_photo(upload)
    if kind == "heic":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    upload.seek(0)
    data = upload.read(MAX_PHOTO_BYTES + 1)
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own limit and raises past twice it; ours is lower and
            # checked below, from the size the header gives.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_FORMATS[kind])
    except Image.DecompressionBombError:
        width, height = _header_size(data)
        raise _too_many_pixels(width, height) from None
    except (OSError, ValueError, SyntaxError):
        raise _unreadable() from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_many_pixels(width, height)
        try:
            if image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when the photo is that much larger.
                image.draft("RGB", _fitted(width, height))
            upright = ImageOps.exif_transpose(image)
            picture = _flattened(upright)
            picture.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # No exif, no icc_profile, no comment: Pillow writes only what it is given.
            picture.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise _unreadable() from None
    return ContentFile(out.getvalue(), name="photo.jpg")


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height as a PNG or JPEG header states them (for the message only)."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0


def _fitted(width: int, height: int) -> tuple[int, int]:
    """The size the photo is scaled to: its long edge at most MAX_EDGE."""
    scale = min(1.0, MAX_EDGE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flattened(image: Any) -> Any:
    """RGB pixels of the first frame; transparency over white, like paper."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", rgba.size, (255, 255, 255))
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    return image.convert("RGB")


V = TypeVar("V", bound=Callable[..., Any])


def accepts_photo(view: V) -> V:
    """Marks a view that receives a photo: its request body may be up to MAX_BODY_BYTES
    (wuyi.middleware.BodyLimitMiddleware refuses a longer one before it is read)."""
    view.max_body_bytes = MAX_BODY_BYTES  # type: ignore[attr-defined]
    return view
