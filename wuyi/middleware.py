"""Project-wide middleware: request bodies bounded before they are read, refusals as pages,
and no caching of what a signed-in user sees."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _

from wuyi.lib.errors import Refused


class BodyLimitMiddleware:
    """A request whose body is longer than its view takes is answered 413 from its
    Content-Length, before anything reads the body: the CSRF check (the next middleware)
    would otherwise parse a form of any size, writing its files to disk, before the view's
    own check of a photo's size could refuse it. A view takes WUYI_MAX_BODY_BYTES (a resident
    list), or what it says in ``max_body_bytes`` (wuyi.lib.photos.accepts_photo). A body
    without a Content-Length is read as empty by Django, so it needs no bound here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        limit = getattr(view_func, "max_body_bytes", None) or settings.WUYI_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit:
            return None
        message = _("What was sent is larger than %(mb)d MB: send a smaller file.") % {
            "mb": max(1, limit // (1024 * 1024))
        }
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        return render(request, "400.html", {"refused": Refused(message)}, status=413)


class RefusedMiddleware:
    """A Refused that escapes a view (a malformed query parameter, a search a role may not
    make) is answered with a 400 page carrying its message, in the site's layout, like any
    form error: the user reads what to change, not "Bad Request". The API turns the same
    refusals into JSON 400s itself (wuyi.lib.drf)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Refused):
            return None
        return render(request, "400.html", {"refused": exception}, status=400)


class NoStoreMiddleware:
    """Pages, API answers and exports for a signed-in user carry personal data: no browser or
    proxy keeps them (Cache-Control: no-store). Static files are served before this runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
