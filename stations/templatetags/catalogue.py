from django import template

register = template.Library()


@register.filter
def attr(obj, path: str):
    """Follow a dotted attribute path for a list column; a missing link shows as empty."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return ""
    return obj
