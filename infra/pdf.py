"""HTML -> PDF with WeasyPrint, and the QR code that links a receipt back to its status page."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from weasyprint import HTML


def render_pdf(html: str) -> bytes:
    """CPU-bound and blocking: call it from a thread, never on the event loop."""
    return HTML(string=html, base_url=None).write_pdf()


def qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
