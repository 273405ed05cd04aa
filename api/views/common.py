"""What the API's views share: files passed through as they are, forms as validators."""

from __future__ import annotations

from django.forms.models import model_to_dict
from rest_framework.renderers import BaseRenderer


class FileRenderer(BaseRenderer):
    """Lets a client that asks for the file's own type (or anything) get the file."""

    media_type = "*/*"
    format = "file"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def form_data(request_data, instance=None, fields=None) -> dict:
    """A form's data from a JSON or multipart body; a PATCH keeps the instance's other values."""
    data = model_to_dict(instance, fields=fields) if instance is not None else {}
    data = {k: v for k, v in data.items() if not hasattr(v, "url")}  # files come in FILES
    for key in request_data:
        value = request_data.get(key)
        data[key] = "" if value is None else value
    return data
