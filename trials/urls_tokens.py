"""Personal API token pages: mounted at ``accounts/tokens/`` by the root URLs."""

from django.urls import path

from . import views_tokens as views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("new/", views.token_create, name="create"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
    path("all/", views.token_admin_list, name="admin_list"),
    path("all/new/", views.token_admin_create, name="admin_create"),
]
