"""A photo is told by its content: the name and type the phone sent count for nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.photos import GPS_IFD, MODEL, ORIENTATION, bomb_png, jpeg
from wuyi.lib import photos
from wuyi.lib.errors import Refused

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
HEIC = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 32


@pytest.mark.parametrize(
    ("content", "kind"), [(PNG, "png"), (JPEG, "jpg"), (HEIC, "heic"), (WEBP, "webp")]
)
def test_a_picture_keeps_the_extension_of_what_it_is(content, kind):
    upload = SimpleUploadedFile("IMG_0001.html", content, content_type="text/html")
    assert photos.check_photo(upload) == kind
    assert upload.read() == content  # left at the start, for whoever saves it


def test_a_page_named_like_a_photo_is_refused():
    upload = SimpleUploadedFile("photo.png", b"<html><script>x</script>", content_type="image/png")
    with pytest.raises(Refused) as refused:
        photos.check_photo(upload)
    assert refused.value.field == "photo"


def test_a_photo_over_the_limit_is_refused_before_it_is_read():
    upload = SimpleUploadedFile("big.jpg", JPEG)
    upload.size = photos.MAX_PHOTO_BYTES + 1
    with pytest.raises(Refused, match="8"):
        photos.check_photo(upload)


# ----------------------------------------------------------------------------- re-encoding
# Issue 17, item 10: a photo is re-encoded on arrival, its metadata dropped and its pixels
# bounded; a decompression bomb is refused from its header, never decoded.


def _reopen(cleaned):
    from PIL import Image

    cleaned.seek(0)
    image = Image.open(io.BytesIO(cleaned.read()))
    image.load()
    return image


def test_gps_and_phone_model_are_gone_after_upload():
    upload = SimpleUploadedFile("IMG_0001.jpg", jpeg(), content_type="image/jpeg")
    cleaned = photos.clean_photo(upload)
    assert cleaned.name.endswith(".jpg")
    image = _reopen(cleaned)
    assert image.format == "JPEG" and image.size == (1200, 900)
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD) and MODEL not in exif
    cleaned.seek(0)
    data = cleaned.read()
    assert b"HUAWEI" not in data and b"Exif" not in data


def test_orientation_is_applied_before_the_metadata_goes():
    # Taken with the phone turned: stored 1200 × 900, shown 900 × 1200 (Orientation 6).
    upload = SimpleUploadedFile("p.jpg", jpeg(orientation=6), content_type="image/jpeg")
    image = _reopen(photos.clean_photo(upload))
    assert image.size == (900, 1200)
    assert ORIENTATION not in image.getexif()


def test_a_big_photo_is_scaled_to_the_long_edge():
    upload = SimpleUploadedFile("p.jpg", jpeg((4000, 3000), gps=False))
    image = _reopen(photos.clean_photo(upload))
    assert image.size == (photos.MAX_EDGE, photos.MAX_EDGE * 3 // 4)


def test_a_png_with_transparency_is_stored_asjpeg():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(out, format="PNG")
    image = _reopen(photos.clean_photo(SimpleUploadedFile("p.png", out.getvalue())))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)  # transparent reads as white paper


def test_a_decompression_bomb_is_refused_from_its_header(monkeypatch):
    from PIL import PngImagePlugin

    bomb = bomb_png()
    assert len(bomb) < 200_000

    def decoded(self, *args, **kwargs):
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", decoded)
    with pytest.raises(Refused) as refused:
        photos.clean_photo(SimpleUploadedFile("photo.png", bomb, content_type="image/png"))
    assert refused.value.field == "photo"
    assert "像素" in str(refused.value.message)


def test_just_over_the_pixel_cap_is_refused_too():
    from PIL import Image

    out = io.BytesIO()
    # 8,000 × 5,001 = 40,008,000 pixels: under Pillow's own bomb limit, over ours.
    Image.new("1", (8000, 5001)).save(out, format="PNG")
    with pytest.raises(Refused, match="像素"):
        photos.clean_photo(SimpleUploadedFile("p.png", out.getvalue()))


def test_a_broken_picture_is_refused():
    broken = jpeg()[:2000]
    with pytest.raises(Refused) as refused:
        photos.clean_photo(SimpleUploadedFile("p.jpg", broken))
    assert refused.value.field == "photo"


def test_a_heic_photo_is_read_and_stored_asjpeg():
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 10)).save(out, format="HEIF")
    upload = SimpleUploadedFile("IMG_0001.HEIC", out.getvalue(), content_type="image/heic")
    image = _reopen(photos.clean_photo(upload))
    assert image.format == "JPEG" and image.size == (640, 480)


def test_a_body_longer_than_any_view_takes_is_refused_unread(client, settings, db):
    """wuyi.middleware.BodyLimitMiddleware answers from the Content-Length: the test client's
    body is a few bytes, so a view (or the CSRF check) that read it would fail otherwise."""
    huge = str(settings.WUYI_MAX_BODY_BYTES + 1)
    page = client.post("/accounts/login/", {"username": "x"}, CONTENT_LENGTH=huge)
    assert page.status_code == 413 and "MB" in page.content.decode()
    api = client.post("/api/compounds/", {}, content_type="application/json", CONTENT_LENGTH=huge)
    assert api.status_code == 413 and "MB" in api.json()["detail"]
