"""Two-factor sign-in and the session keep-alive; mounted at /accounts/ by the root URLs (namespace ``security``)."""

from django.urls import path

from .security import session_keep_alive
from .two_factor import views

app_name = "security"

urlpatterns = [
    path("two-factor/", views.two_factor_overview, name="two_factor"),
    path("two-factor/enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/recovery-codes/", views.two_factor_recovery_codes, name="two_factor_recovery_codes"),
    path("two-factor/reset/<int:pk>/", views.two_factor_reset, name="two_factor_reset"),
    path("session/keep-alive/", session_keep_alive, name="keep_alive"),
]
