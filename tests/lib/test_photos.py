"""A photo is told by its content: the name and type the phone sent count for nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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
