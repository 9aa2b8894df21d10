"""Root URLs: wiring only."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from trials import views as trial_views
from trials.forms import SignInForm

urlpatterns = [
    path("", trial_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm,
            redirect_authenticated_user=True,
            extra_context={
                "lockout_limit": settings.AXES_FAILURE_LIMIT,
                "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            },
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/tokens/", include("trials.urls_tokens")),
    path("accounts/", include("trials.urls_two_factor")),
    path("trials/", include("trials.urls")),
    path("patients/", include("patients.urls")),
    path("users/", include("trials.urls_users")),
    path("analyses/", include("outcomes.urls")),
    path("randomisation/", include("patients.urls_randomisation")),
    path("api/v1/", include(("cosmo_avatar.api_urls", "api"))),
    path("audit/", include("trials.urls_audit")),
    path("audit/<str:model_label>/<int:pk>/", trial_views.audit_trail, name="audit_trail"),
    path("admin/", admin.site.urls),
]

handler404 = "trials.views_errors.page_not_found"
handler500 = "trials.views_errors.server_error"
