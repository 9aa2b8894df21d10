"""Root URLs of the load benchmark (``settings_bench`` only): the product's URLs and one bare view beside them.

The bare view is the yardstick of ``benchmarks/load.py``: the least a Django request that writes can cost on the same
server, middleware and database (one ``INSERT``, answered 201), against which the CRF save is compared. It writes to
``benchmark_bare_row``, a table the benchmark creates with raw SQL in its throwaway database (no model, no migration:
it is not part of the product). It is never in the product's URLs.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .urls import urlpatterns as product_urlpatterns

BARE_TABLE = "benchmark_bare_row"
BARE_INSERT = "INSERT INTO benchmark_bare_row (created_at, body) VALUES (now(), %s) RETURNING id"
BARE_PATH = "bench/bare-insert/"


@csrf_exempt  # a bare JSON POST, like the API's token requests (which CSRF does not apply to either)
@require_POST
def bare_insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(BARE_INSERT, [request.body.decode("utf-8", "replace")])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [path(BARE_PATH, bare_insert, name="bench_bare_insert"), *product_urlpatterns]
