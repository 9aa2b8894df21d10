from django.urls import path

from . import views

app_name = "outcomes"

urlpatterns = [
    path("<slug:code>/summaries/", views.trial_summaries, name="summaries"),
]
