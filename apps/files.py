"""How the portal and the staff workspace answer with a stored file (a photo, a thumbnail, a receipt)."""

from __future__ import annotations

from litestar.exceptions import NotFoundException
from litestar.response import Response

from domain.attachments import StoredFile


def inline(found: StoredFile | None) -> Response:
    """Shown in the page, never run (and nosniff on every answer), under a name made by the portal, never
    the upload's; no such file, or one gone from storage, is a 404."""
    if found is None:
        raise NotFoundException()
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": f'inline; filename="{found.filename}"'},
    )
