"""Permission-matrix rows of issue 8's compliance work: two-factor screens (any signed-in user; the test settings
require two-factor of no role, so no one is sent to the code step here), the session keep-alive, the audit
integrity screen, audit exports and the sign-in log."""

from typing import Any

from django.urls import reverse

from ..conftest import Cast
from .matrix import CO, DM, SA, VIEWERS, Row, plain, same, scoped

AUDITORS = {DM: 200}  # with the sponsor admin: VIEW_AUDIT_INTEGRITY


def _reset_url(cast: Cast, patient: Any) -> str:
    return reverse("security:two_factor_reset", kwargs={"pk": cast.user(CO).pk})


def _patient_export(cast: Cast, patient: Any) -> str:
    return reverse("audit:export_record", kwargs={"model_label": "patients.patient", "pk": patient.pk})


ROWS: list[Row] = [
    ("security:two_factor", plain("security:two_factor"), "get", same(200)),
    ("security:two_factor_enrol", plain("security:two_factor_enrol"), "get", same(200)),
    # Nothing to verify (no authenticator, not required): straight on to the page asked for.
    ("security:two_factor_verify", plain("security:two_factor_verify"), "get", same(302)),
    # No new codes to show: back to the overview.
    ("security:two_factor_recovery_codes", plain("security:two_factor_recovery_codes"), "get", same(302)),
    ("security:two_factor_reset", _reset_url, "get", same(404, **{SA: 200})),
    ("security:keep_alive", plain("security:keep_alive"), "post", same(204)),
    ("audit:integrity", plain("audit:integrity"), "get", same(404, **{DM: 200, SA: 200})),
    ("audit:integrity_verify", plain("audit:integrity_verify"), "post", same(404, **{DM: 302, SA: 302})),
    ("audit:export", plain("audit:export"), "get", same(404, **{DM: 200, SA: 200})),
    ("audit:export_record", _patient_export, "get", scoped(VIEWERS)),
    ("audit:sign_ins", plain("audit:sign_ins"), "get", same(404, **{DM: 200, SA: 200})),
]
