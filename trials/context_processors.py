"""Navigation by role: each menu entry shows only where the user's role may go."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from .permissions import Capability, can
from .selectors import trial_list


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"nav_items": []}
    if getattr(request, "two_factor_pending", False):  # trials.two_factor.middleware: nothing to open yet
        return {"nav_items": [], "role_label": user.get_role_display() or "No role"}
    items = [("Home", reverse("home"))]
    if can(user, Capability.VIEW_PATIENTS):
        items.append(("Patients", reverse("patients:list")))
    if can(user, Capability.VIEW_PATIENTS):
        items.append(("Queries", reverse("patients:query_list")))
    if can(user, Capability.REGISTER_PATIENT):
        items.append(("Register patient", reverse("patients:register")))
    if can(user, Capability.VIEW_TRIAL_CONFIGURATION):
        items.append(("Trials", reverse("trials:list")))
    trials = list(trial_list(user=user)) if can(user, Capability.VIEW_ENROLMENT_COUNTS) else None
    if can(user, Capability.VIEW_EFFICACY):
        for trial in trials if trials is not None else trial_list(user=user):
            items.append((f"{trial.short_name} analyses", reverse("outcomes:summaries", kwargs={"code": trial.code})))
    if trials is not None:  # the dashboards (issue 7): enrolment first, tabs for the rest
        for trial in trials:
            href = reverse("outcomes:dashboard_enrolment", kwargs={"code": trial.code})
            items.append((f"{trial.short_name} dashboards", href))
    if can(user, Capability.EXPORT_ANALYSIS_DATASETS):  # data cuts (issue 6)
        items.append(("Data cuts", reverse("outcomes:datacut_index")))
    if can(user, Capability.VIEW_AUDIT_INTEGRITY):
        items.append(("Audit", reverse("audit:integrity")))
    if any(can(user, c) for c in (Capability.VERIFY_SOURCE_DATA, Capability.LOCK_DATA, Capability.LOCK_TRIAL)):
        for trial in trial_list(user=user):  # issue 8: SDV progress, locks, signatures
            items.append(
                (f"{trial.short_name} oversight", reverse("patients:oversight_trial", kwargs={"code": trial.code}))
            )
    if can(user, Capability.MANAGE_USERS):
        items.append(("Users", reverse("users:list")))
    return {"nav_items": items, "role_label": user.get_role_display() or "No role"}
