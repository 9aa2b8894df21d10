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
    items = [("Home", reverse("home"))]
    if can(user, Capability.VIEW_PATIENTS):
        items.append(("Patients", reverse("patients:list")))
    if can(user, Capability.VIEW_PATIENTS):
        items.append(("Queries", reverse("patients:query_list")))
    if can(user, Capability.REGISTER_PATIENT):
        items.append(("Register patient", reverse("patients:register")))
    if can(user, Capability.VIEW_TRIAL_CONFIGURATION):
        items.append(("Trials", reverse("trials:list")))
    if can(user, Capability.VIEW_EFFICACY):
        for trial in trial_list(user=user):
            items.append((f"{trial.short_name} analyses", reverse("outcomes:summaries", kwargs={"code": trial.code})))
    if can(user, Capability.MANAGE_USERS):
        items.append(("Users", reverse("users:list")))
    return {"nav_items": items, "role_label": user.get_role_display() or "No role"}
