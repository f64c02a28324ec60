"""Project-wide middleware: refusals as pages, and no caching of what a signed-in user sees."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_cache_control

from wuyi.lib.errors import Refused


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
