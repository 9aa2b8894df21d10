"""Permission-matrix rows: the dashboards (issue 7). Trial-wide pages: the oversight roles see enrolment, health and
randomisation; only the statistician and the sponsor admin see efficacy; site-scoped roles get 404 on all of them."""

from .matrix import Row, same, trial_url

OVERSIGHT = {"data_manager": 200, "statistician": 200, "trial_manager": 200, "sponsor_admin": 200}

ROWS: list[Row] = [
    ("outcomes:dashboard_enrolment", trial_url("outcomes:dashboard_enrolment"), "get", same(404, **OVERSIGHT)),
    ("outcomes:dashboard_health", trial_url("outcomes:dashboard_health"), "get", same(404, **OVERSIGHT)),
    (
        "outcomes:dashboard_randomisation",
        trial_url("outcomes:dashboard_randomisation"),
        "get",
        same(404, **OVERSIGHT),
    ),
    (
        "outcomes:dashboard_efficacy",
        trial_url("outcomes:dashboard_efficacy"),
        "get",
        same(404, statistician=200, sponsor_admin=200),
    ),
]
