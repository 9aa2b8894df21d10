"""The oversight screens show SDV progress, signatures and locks to whom they concern, within their sites."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from patients.models import Demographics
from patients.services.locks import lock_site
from patients.services.oversight import sdv_verify_fields, signature_sign
from trials.models import Role

from ...browser.conftest import PASSWORD
from ...conftest import Cast
from ...scenarios import site_user
from .conftest import change


def test_the_oversight_page_shows_sdv_progress_of_the_users_sites(
    client: Any, cast: Cast, demographics: Demographics, demographics_b: Demographics
) -> None:
    sdv_verify_fields(user=cast.user(Role.MONITOR), record=demographics, fields=["ecog"])
    lock_site(user=cast.user(Role.DATA_MANAGER), trial=cast.avatar2, site=cast.site_b, reason="Close-out")
    url = reverse("patients:oversight_trial", kwargs={"code": cast.avatar2.code})

    client.force_login(cast.user(Role.MONITOR))
    sites = client.get(url).context["sites"]
    assert [(row.site.code, row.sdv.items_verified, row.sdv.forms_complete) for row in sites] == [("NL01", 1, 1)]

    client.force_login(cast.user(Role.DATA_MANAGER))
    page = client.get(url)
    rows = {row.site.code: row for row in page.context["sites"]}
    assert set(rows) == {"NL01", "BE01"}
    assert rows["BE01"].lock is not None and rows["NL01"].lock is None
    assert f'data-patient="{cast.patient_b.subject_id}"' in page.content.decode()


def test_the_manifest_lists_the_signatures_of_the_users_sites(
    client: Any, cast: Cast, demographics: Demographics
) -> None:
    signature_sign(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a, password=PASSWORD)
    change(cast, demographics, reason="ECOG corrected", ecog=2)
    url = reverse("patients:signature_manifest", kwargs={"code": cast.avatar2.code})

    client.force_login(cast.user(Role.MONITOR))
    [row] = client.get(url).context["rows"]
    assert (row.subject_id, row.scope, row.status, row.needs_resigning) == (
        cast.patient_a.subject_id,
        "casebook",
        "invalidated",
        True,
    )
    client.force_login(site_user(cast, Role.MONITOR, cast.site_b))
    assert client.get(url).context["rows"] == []


def test_the_form_page_shows_verification_and_signatures(client: Any, cast: Cast, demographics: Demographics) -> None:
    sdv_verify_fields(user=cast.user(Role.MONITOR), record=demographics, fields=["ecog", "menopausal_status"])
    signature_sign(user=cast.user(Role.INVESTIGATOR), patient=cast.patient_a, record=demographics, password=PASSWORD)
    change(cast, demographics, reason="ECOG corrected", ecog=2)
    client.force_login(cast.user(Role.SITE_COORDINATOR))
    url = reverse(
        "patients:crf_edit",
        kwargs={"subject_id": cast.patient_a.subject_id, "code": demographics.crf.code, "pk": demographics.pk},
    )
    page = client.get(url)
    oversight = page.context["oversight"]
    assert [i.item.name for i in oversight.to_reverify] == ["ecog"]
    assert oversight.verified_count == 1
    body = page.content.decode()
    assert "needs re-verification: ECOG performance status" in body
    assert 'data-status="invalidated"' in body and "ECOG corrected" in body
