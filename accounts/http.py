"""The request a view behind @login_required receives, for the type checker.

Django passes a plain HttpRequest; this class is never instantiated. It only tells mypy what
is true of every such request: `user` is a signed-in accounts.User (login_required turned the
anonymous away), and `htmx` is set by django_htmx.middleware.HtmxMiddleware (settings).
The pattern is the one django-stubs and django-htmx document.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from .models import User


class AuthedHttpRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
