"""Files people or stations uploaded, handed back as downloads, never as something to run or
render: whatever the name says (report.html, tool.exe), the type is octet-stream, the browser is
told to save it and not to sniff another type."""

from __future__ import annotations

from django.core.files import File
from django.http import FileResponse


def uploaded_file_response(file: File, *, filename: str = "") -> FileResponse:
    response = FileResponse(
        file.open("rb"),
        as_attachment=True,
        filename=filename or None,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
