"""QR codes as inline SVG: segno draws them; no script, no image library, no external file."""

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(url: str, *, scale: int = 6) -> SafeString:
    """The QR code of a URL, as markup to put in a page (it scales with CSS)."""
    svg = segno.make(url, error="m").svg_inline(scale=scale, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup around a URL we built
