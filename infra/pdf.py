"""HTML -> PDF with WeasyPrint, and the QR code that links a receipt back to its status page."""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import qrcode
import qrcode.image.svg


def render_pdf(html: str) -> bytes:
    """CPU-bound and blocking: call it from a thread, never on the event loop."""
    # Imported here: the web uses the QR helpers only and must not load WeasyPrint (about a second of CPU).
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # A receipt embeds everything it shows (the QR code as a data: URI, the town's logo as inline SVG): a
    # template value that names a remote or file:// URL must not make the worker fetch it.
    embedded_only = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=None, url_fetcher=embedded_only).write_pdf()


def pdf_process_pool(processes: int) -> ProcessPoolExecutor:
    """Processes for render_pdf that end with the process that started them, even one killed without a
    goodbye (SIGKILL): otherwise they, and multiprocessing's resource tracker, linger under PID 1."""
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=get_context("spawn"),
        initializer=_end_with_parent,
        initargs=(os.getpid(),),
    )


def _end_with_parent(parent: int) -> None:
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


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
