"""Permission-matrix rows: the OpenAPI schema and its documentation pages (any signed-in user)."""

from .matrix import Row, plain, same

ROWS: list[Row] = [
    ("api:schema", plain("api:schema"), "get", same(200)),
    ("api:docs", plain("api:docs"), "get", same(200)),
    ("api:redoc", plain("api:redoc"), "get", same(200)),
]
