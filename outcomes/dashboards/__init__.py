"""Dashboards (issue 7): enrolment and trial health for trial managers, randomisation, efficacy for statisticians.

- ``snapshots``: the refresh service (one ``DashboardSnapshot`` per trial and kind) and the snapshot read;
- ``enrolment``, ``health``, ``randomisation``, ``efficacy``: each kind's ``build`` (the database read once per
  refresh, with aggregates, into JSON-ready facts keyed by site and month) and ``present`` (the page: charts drawn by
  ``outcomes.domain.charts``, each with its table view and CSV, under the user's scope and filters);
- ``pages``: who may open which dashboard, and the page for a request.
"""
