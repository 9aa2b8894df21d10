"""Permission-matrix rows: the data dictionary page (issue 6), for those who export clinical data."""

from .matrix import Row, same, trial_url

EXPORTERS = {"data_manager": 200, "statistician": 200, "sponsor_admin": 200}

ROWS: list[Row] = [
    ("outcomes:data_dictionary", trial_url("outcomes:data_dictionary"), "get", same(404, **EXPORTERS)),
]
