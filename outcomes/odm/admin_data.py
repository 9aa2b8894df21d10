"""AdminData: the sites (``Location``) subjects belong to and the users (``User``) audit records and confirmation
items point to. No personal data: a user is its OID, login name and role, never a name, e-mail or phone.

ODM orders the root's children (Study, AdminData, ..., ClinicalData), so AdminData is written before the clinical
data streams. The users are found with one ``UNION`` query over the tables the export reads (who saved a history
row, who confirmed a form), which holds one id per user however large the trial grows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from lxml import etree

from patients.models import Patient, Visit
from trials.models import ALL_SITE_ROLES, Role, Site, SiteMembership, Trial, User
from trials.selectors import trial_site_list

from .archive import history_model
from .clinical import SPONSOR_LOCATION, location_oid, user_oid
from .elements import root, sub
from .specs import StudyMetadata, ValueKind


@dataclass(frozen=True)
class ExportSite:
    site: Site
    activated: date | None


def export_sites(*, user: Any, trial: Trial, site: Site | None, patients: QuerySet[Patient]) -> list[ExportSite]:
    """The trial's sites in the user's scope (one site when filtered), plus any site a subject in the export
    belongs to, so every SiteRef resolves."""
    trial_sites = trial_site_list(user=user, trial=trial)
    if site is not None:
        trial_sites = trial_sites.filter(site=site)
    found = {ts.site_id: ExportSite(ts.site, ts.activation_date) for ts in trial_sites}
    for extra in Site.objects.filter(pk__in=patients.values("site_id")).exclude(pk__in=list(found)):
        found[extra.pk] = ExportSite(extra, None)
    return sorted(found.values(), key=lambda entry: entry.site.code)


def export_users(
    *, user: Any, metadata: StudyMetadata, patients: QuerySet[Patient], audit: bool
) -> tuple[list[User], bool]:
    """The users the export names, and whether a change without a user (``U.SYSTEM``) may appear."""
    patient_ids = patients.values("pk")
    parts: list[QuerySet[Any, Any]] = []
    if audit:
        parts.append(history_model(Patient).objects.filter(id__in=patient_ids).values_list("history_user_id"))
        parts.append(history_model(Visit).objects.filter(patient_id__in=patient_ids).values_list("history_user_id"))
    for form in metadata.crf_forms:
        assert form.model is not None
        user_fields = [item.attribute for item in form.main.items if item.kind == ValueKind.USER]
        source: Any = history_model(form.model).objects if audit else form.model.objects.for_user(user)
        records = source.filter(patient_id__in=patient_ids)
        parts += [records.values_list(name) for name in user_fields]
        if audit:
            parts.append(records.values_list("history_user_id"))
            for rows in form.rows:
                parents = {f"{rows.parent}_id__in": records.values("id")}
                parts.append(history_model(rows.model).objects.filter(**parents).values_list("history_user_id"))
    if not parts:
        return [], False
    parts = [part.order_by() for part in parts]
    ids = {value for (value,) in parts[0].union(*parts[1:])}
    users = list(User.objects.filter(pk__in=[i for i in ids if i is not None]).order_by("pk"))
    return users, audit


def admin_data_element(
    *,
    metadata: StudyMetadata,
    sites: list[ExportSite],
    users: list[User],
    system_user: bool,
    today: date,
) -> etree._Element:
    admin = root("AdminData", StudyOID=metadata.study_oid)
    site_codes = {entry.site.pk: entry.site.code for entry in sites}
    memberships: dict[int, list[str]] = defaultdict(list)
    for membership in SiteMembership.objects.filter(user__in=users, site_id__in=list(site_codes)).order_by("site_id"):
        memberships[membership.user_id].append(site_codes[membership.site_id])
    if system_user:
        system = sub(admin, "User", OID=user_oid(None), UserType="Other")
        sub(system, "LoginName", "system")
        sub(system, "DisplayName", "EDC system (no user)")
    for person in users:
        all_sites = person.role in ALL_SITE_ROLES
        user_type = "Investigator" if person.role == Role.INVESTIGATOR else ("Sponsor" if all_sites else "Other")
        element = sub(admin, "User", OID=user_oid(person.pk), UserType=user_type)
        sub(element, "LoginName", person.get_username())
        sub(element, "DisplayName", person.get_role_display() or "No role")
        for code in memberships.get(person.pk, ()):
            sub(element, "LocationRef", LocationOID=location_oid(code))
        if all_sites:
            sub(element, "LocationRef", LocationOID=SPONSOR_LOCATION)
    for entry in sites:
        location = sub(admin, "Location", OID=location_oid(entry.site.code), Name=str(entry.site), LocationType="Site")
        _metadata_ref(location, metadata, entry.activated or today)
    sponsor = sub(admin, "Location", OID=SPONSOR_LOCATION, Name="Sponsor and central roles", LocationType="Sponsor")
    _metadata_ref(sponsor, metadata, today)
    return admin


def _metadata_ref(location: etree._Element, metadata: StudyMetadata, effective: date) -> None:
    sub(
        location,
        "MetaDataVersionRef",
        StudyOID=metadata.study_oid,
        MetaDataVersionOID=metadata.mdv_oid,
        EffectiveDate=effective.isoformat(),
    )
