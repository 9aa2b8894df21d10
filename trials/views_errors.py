"""Error pages: JSON under ``/api/``, the site's HTML pages elsewhere.

DRF answers errors raised inside its views as JSON already (``{"detail": ...}``); these handlers cover what never
reaches a DRF view: a path under ``/api/`` that matches no route (``/api/v2/``, a mistyped resource) and a crash
outside DRF's exception handling. A program pulling data then always reads JSON with the same ``detail`` key, never
the HTML page meant for a browser. Django uses them only with ``DEBUG`` off (production, and every test run).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from .two_factor.middleware import API_PREFIX


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found: no API resource at this address."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Server error: it is logged for the administrators."}, status=500)
    return defaults.server_error(request)
