"""Permission-matrix rows: the CDISC ODM export (``EXPORT_CLINICAL_DATA``: data manager, statistician, sponsor
admin, all of them all-site roles). With a site or subject filter the answer is the same for the own and the other
site's patient; every other role gets 404, whatever it asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from ..conftest import Cast
from .matrix import DM, SA, ST, Row, same, trial_url

EXPORTERS = {DM: 200, ST: 200, SA: 200}


def odm_url(parameter: str) -> Callable[[Cast, Any], str]:
    """The AVATAR II export filtered to the patient's site (``site``) or to the patient (``patient``)."""

    def build(cast: Cast, patient: Any) -> str:
        value = patient.site.code if parameter == "site" else patient.subject_id
        return f"{reverse('api:trial_odm', kwargs={'code': cast.avatar2.code})}?{parameter}={value}"

    return build


ROWS: list[Row] = [
    ("api:trial_odm", trial_url("api:trial_odm"), "get", same(404, **EXPORTERS)),
    ("api:trial_odm", odm_url("site"), "get", same(404, **EXPORTERS)),
    ("api:trial_odm", odm_url("patient"), "get", same(404, **EXPORTERS)),
]
