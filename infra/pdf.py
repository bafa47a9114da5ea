"""HTML -> PDF with WeasyPrint in processes of their own, and the QR code that links a receipt to its status
page.

The worker renders through `PdfRenderer`: each of its processes runs `python -m infra.pdf`, which imports
WeasyPrint and nothing of the portal (about 40 MB, against 110 MB for a copy of the whole worker), reads
pages on its stdin and answers on its stdout. It ends when that pipe closes, so it never outlives the
worker, even one killed without a goodbye (SIGKILL). Nothing here is imported at module level that the
web does not need: the web shows QR codes and must not load WeasyPrint or Pillow.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import os
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

# Pixels per module and modules of quiet zone around the receipt's QR code.
QR_BOX, QR_BORDER = 4, 2

HEADER = struct.Struct(">cI")  # status (b"=" a PDF, b"!" a failure, b"?" a page to render), length
READY = b"ready\n"
RENDERS_PER_PROCESS = 500  # then a fresh process, should a WeasyPrint version keep something between pages
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class RenderFailed(RuntimeError):
    """The page could not be rendered, or its process ended while rendering it (the activity retries)."""


def render_pdf(html: str) -> bytes:
    """CPU-bound and blocking: in the renderer process, one page at a time, never on an event loop."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # A receipt embeds everything it shows (the QR code as a data: URI, the town's logo as inline SVG): a
    # template value that names a remote or file:// URL must not make the renderer fetch it.
    embedded_only = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=None, url_fetcher=embedded_only).write_pdf(font_config=_fonts())


@functools.cache
def _fonts() -> Any:
    """One font configuration for every page. Without it WeasyPrint builds a fresh one per document, whose
    fonts are never freed (the process grew by 0.2 MB a page) and reloaded each time (a quarter of a
    receipt's CPU). Receipts declare no @font-face, so nothing accumulates in the shared one."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


class PdfRenderer:
    """Up to `processes` renderer processes, each rendering one page at a time. `start` warms them (the
    first page otherwise pays a second of imports and font loading); `render` starts one if none is."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._idle: asyncio.Queue[_Process] = asyncio.Queue()
        self._running = 0
        self._all: set[_Process] = set()

    async def start(self) -> None:
        while self._running < self.processes:
            self._idle.put_nowait(await self._spawn())

    async def render(self, html: str) -> bytes:
        if self._idle.empty() and self._running < self.processes:
            self._idle.put_nowait(await self._spawn())
        process = await self._idle.get()
        try:
            pdf = await process.render(html.encode())
        except BaseException:
            await self._retire(process)
            raise
        if process.renders >= RENDERS_PER_PROCESS:
            await self._retire(process)
        else:
            self._idle.put_nowait(process)
        return pdf

    def pids(self) -> set[int]:
        return {process.pid for process in self._all}

    async def close(self) -> None:
        for process in list(self._all):
            await self._retire(process)

    async def _spawn(self) -> _Process:
        self._running += 1
        try:
            process = await _Process.start()
        except BaseException:
            self._running -= 1
            raise
        self._all.add(process)
        return process

    async def _retire(self, process: _Process) -> None:
        if process in self._all:
            self._all.discard(process)
            self._running -= 1
            await process.stop()


class _Process:
    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.child = child
        self.pid = child.pid
        self.renders = 0

    @classmethod
    async def start(cls) -> _Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "infra.pdf",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=PROJECT_ROOT,  # -m finds `infra` here whatever the worker's own folder
        )
        process = cls(child)
        assert child.stdout is not None
        try:
            if await child.stdout.readline() != READY:
                raise RenderFailed("the PDF process did not start")
        except BaseException:
            await process.stop()
            raise
        return process

    async def render(self, page: bytes) -> bytes:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.renders += 1
        try:
            self.child.stdin.write(HEADER.pack(b"?", len(page)) + page)
            await self.child.stdin.drain()
            status, length = HEADER.unpack(await self.child.stdout.readexactly(HEADER.size))
            answer = await self.child.stdout.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError) as ended:
            raise RenderFailed("the PDF process ended while rendering") from ended
        if status != b"=":
            raise RenderFailed(answer.decode(errors="replace"))
        return answer

    async def stop(self) -> None:
        if self.child.returncode is None:
            if self.child.stdin is not None:
                self.child.stdin.close()  # the process ends at the end of its input
            try:
                await asyncio.wait_for(self.child.wait(), 10)
            except TimeoutError:
                self.child.kill()
                await self.child.wait()


def serve(pages: BinaryIO, answers: BinaryIO) -> None:
    """The renderer process's loop: a page in, its PDF (or why not) out, until the input ends."""
    render_pdf("<p>warm</p>")  # imports, fonts and the user agent's style sheet, before the first receipt
    answers.write(READY)
    answers.flush()
    while header := pages.read(HEADER.size):
        if len(header) < HEADER.size:
            return
        _, length = HEADER.unpack(header)
        html = pages.read(length).decode()
        try:
            status, answer = b"=", render_pdf(html)
        except Exception as failure:  # said to the worker, whose activity fails and retries
            status, answer = b"!", f"{type(failure).__name__}: {failure}".encode()
        answers.write(HEADER.pack(status, len(answer)) + answer)
        answers.flush()


def qr_svg(url: str) -> str:
    """For HTML pages (the two-step sign-in enrolment)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def qr_png_data_uri(url: str) -> str:
    """For PDFs: WeasyPrint draws a small PNG about three times faster than the same code as an SVG path.
    One fixed mask pattern (any of the eight is valid and scans) instead of trying all eight for the one
    the standard scores best: a quarter of the CPU, in the worker's event loop. The picture is made from
    the code's matrix in one step, then scaled: qrcode's own drawing paints each dark module apart."""
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(border=QR_BORDER, mask_pattern=0)
    code.add_data(url)
    matrix = code.get_matrix()
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), pixels).convert("1")
    image = image.resize((size * QR_BOX, size * QR_BOX), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


if __name__ == "__main__":
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # seven lines per PDF otherwise
    # The answers go on a private copy of stdout; anything a library prints goes to stderr, not into a PDF.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        serve(sys.stdin.buffer, answers)
