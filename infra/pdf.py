"""HTML -> PDF with WeasyPrint, and the QR code that links a receipt back to its status page."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg


def render_pdf(html: str) -> bytes:
    """CPU-bound and blocking: call it from a thread, never on the event loop."""
    # Imported here: the web uses the QR helpers only and must not load WeasyPrint (about a second of CPU).
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf()


def qr_svg(url: str) -> str:
    """For HTML pages (the two-step sign-in enrolment)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def qr_png_data_uri(url: str) -> str:
    """For PDFs: WeasyPrint draws a small PNG about three times faster than the same code as an SVG path."""
    buffer = io.BytesIO()
    qrcode.make(url, box_size=4, border=2).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
