"""The today list on a poor network (a PWA): taps made offline are queued on the phone
(static/js/offline.js) and replayed when the network returns, each exactly once.

A replayed tap is the form's own POST, sent again with an ``X-Offline-Key`` header (a key the
phone drew when the tap was made). :class:`ReplayMiddleware` runs the view inside one
transaction that first records the key (volunteers.OfflineTap, unique): a key already there
answers "already recorded" and runs nothing; two copies of one tap at once wait on the unique
index and the second finds the first's key. A view that refuses (a 4xx, or an error message
such as "this check is no longer yours") has its transaction rolled back, key and all, and
the phone reads the refusal as JSON. Pages are answered as JSON to a replay, never rendered.

The service worker (:func:`service_worker`) caches the volunteer's own task pages in the
browser for offline reading (never in a shared cache: pages say no-store to proxies), and the
page empties that cache at logout.
"""

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.messages import constants
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from .models import OfflineTap

HEADER = "HTTP_X_OFFLINE_KEY"
KEY_RE = re.compile(r"[A-Za-z0-9-]{16,64}")
# The pages a volunteer reads offline (their own today list and its task pages).
OFFLINE_PREFIXES = ("/volunteers/today/", "/care/checks/", "/supplies/deliveries/", "/sanitation/")


def _drain(request: HttpRequest) -> tuple[list[str], list[str]]:
    """The messages the view queued, as (errors, others); taken off the request so that they
    are not shown again on the next page."""
    storage = messages.get_messages(request)
    errors: list[str] = []
    others: list[str] = []
    for message in storage:
        (errors if message.level >= constants.ERROR else others).append(str(message))
    return errors, others


def _refusal_text(response: HttpResponse) -> str:
    if response.status_code == 404:
        return _("This task is no longer yours or no longer exists. Nothing was recorded.")
    if response.status_code == 403:
        return _("You may not do this. Nothing was recorded.")
    return _("The server did not accept this. Nothing was recorded.")


class ReplayMiddleware:
    """Applies a replayed offline tap once (see the module). Placed after the message and
    authentication middleware, so it reads the view's messages before they are stored."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(HEADER)
        if key is None or request.method != "POST":
            return self.get_response(request)
        if not KEY_RE.fullmatch(key):
            return JsonResponse(
                {"ok": False, "message": _("The offline key is not valid.")}, status=400
            )
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return JsonResponse(
                {"ok": False, "retry": True, "message": _("Log in again to send it.")}, status=401
            )
        if OfflineTap.objects.filter(key=key).exists():
            return JsonResponse({"ok": True, "duplicate": True, "message": _("Already recorded.")})
        try:
            with transaction.atomic():
                OfflineTap.objects.create(key=key, user=user, path=request.path[:200])
                response = self.get_response(request)
                errors, others = _drain(request)
                if response.status_code >= 400 or errors:
                    transaction.set_rollback(True)
                    text = " ".join(errors) or _refusal_text(response)
                    return JsonResponse(
                        {"ok": False, "message": text},
                        status=response.status_code if response.status_code >= 400 else 409,
                    )
        except IntegrityError:
            # The same tap, replayed by another tab at the same moment, got there first.
            return JsonResponse({"ok": True, "duplicate": True, "message": _("Already recorded.")})
        return JsonResponse({"ok": True, "message": " ".join(others) or _("Recorded.")})


SERVICE_WORKER = """// Wuyi: the volunteer's task pages, readable without signal.
const CACHE = "wuyi-offline-v1";
const PREFIXES = %(prefixes)s;
const STATIC = "%(static)s";
self.addEventListener("install", (event) => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });
self.addEventListener("message", (event) => {
  if (event.data === "clear") { event.waitUntil(caches.delete(CACHE)); }
});
function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname.startsWith(STATIC) || PREFIXES.some((p) => url.pathname.startsWith(p)));
}
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!cacheable(url)) return;
  // Network first: a fresh page whenever there is signal; the last one seen when not.
  event.respondWith(
    fetch(request).then((response) => {
      if (response.ok && !response.redirected && response.type === "basic") {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    }).catch(() => caches.open(CACHE).then((cache) => cache.match(request)).then(
      (found) => found || new Response("offline", {status: 503})
    ))
  );
});
"""


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, allowed to serve the whole site (its pages are under several
    apps); it caches only OFFLINE_PREFIXES and static files."""
    import json

    body = SERVICE_WORKER % {
        "prefixes": json.dumps(list(OFFLINE_PREFIXES)),
        "static": static(""),
    }
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: a volunteer puts the today list on the home screen."""
    from django.urls import reverse

    data: dict[str, Any] = {
        "name": _("Wuyi compound management"),
        "short_name": _("Wuyi"),
        "start_url": reverse("volunteers:today"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "lang": getattr(request, "LANGUAGE_CODE", "zh-hans"),
        "icons": [{"src": static("favicon.ico"), "sizes": "48x48", "type": "image/x-icon"}],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response
