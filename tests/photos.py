"""Real pictures for the tests of uploads: a phone's JPEG with its GPS position and model in
EXIF, and a decompression bomb (a 30,000 × 30,000 PNG of about 110 KB)."""

import io
import struct
import zlib

GPS_IFD = 0x8825
MODEL = 0x0110
ORIENTATION = 0x0112
PHONE_MODEL = "HUAWEI Mate 40 Pro"


def jpeg(size=(1200, 900), *, gps: bool = True, orientation: int | None = None) -> bytes:
    """A photo as a phone saves it: the phone's model, where it was taken (36°03'N 103°50'E,
    a lift in Lanzhou) and, when given, how the phone was turned."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[MODEL] = PHONE_MODEL
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (36.0, 3.0, 0.0), 3: "E", 4: (103.0, 50.0, 0.0)})
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    return bool(image.getexif().get_ifd(GPS_IFD)) or PHONE_MODEL.encode() in data


def bomb_png(side: int = 30_000) -> bytes:
    """A PNG of side × side black pixels (1 bit each): about 110 KB, 112 MB once inflated
    and, as Pillow holds it, 900 MB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def png(size=(64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (30, 30, 200)).save(out, format="PNG")
    return out.getvalue()
