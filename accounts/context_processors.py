from django.http import HttpRequest


def role(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    is_qa = bool(user and user.is_authenticated and user.is_qa)
    return {"is_qa": is_qa}
