"""The admin is a read-only inspection tool for superusers. Data and configuration change through the app's own
screens and services, which require a reason for change; the admin would bypass them."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import AnalysisSettings, Arm, Site, SiteMembership, Trial, TrialSite, User, VisitDefinition


class ReadOnlyAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


for model in (Site, Trial, TrialSite, Arm, VisitDefinition, AnalysisSettings, SiteMembership):
    admin.site.register(model, ReadOnlyAdmin)


@admin.register(User)
class EdcUserAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Trial role", {"fields": ["role"]}))

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # deactivate, never delete: the user may have entered data
