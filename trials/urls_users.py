"""User administration (sponsor admin): mounted at /users/ by the root URLs."""

from django.urls import path

from . import views

app_name = "users"

urlpatterns = [
    path("", views.user_list, name="list"),
    path("new/", views.user_create, name="create"),
    path("<int:pk>/edit/", views.user_update, name="update"),
]
