"""The Celery app. Without ``CELERY_BROKER_URL`` tasks run eagerly in-process (settings)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cosmo_avatar.settings")

app = Celery("cosmo_avatar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives in code so every deployment runs the same jobs.
app.conf.beat_schedule = {
    "nightly-consistency-sweep": {
        "task": "outcomes.tasks.nightly_consistency_sweep",
        "schedule": crontab(hour=2, minute=15),
    },
    # Dashboards (issue 7): every 15 minutes, skipping trials whose inputs did not change.
    "dashboards-refresh": {
        "task": "outcomes.tasks.dashboards_refresh_all",
        "schedule": crontab(minute="*/15"),
    },
    # Audit chain (issue 8): seal history rows a process left pending; verify the whole chain every night.
    "audit-chain-seal-sweep": {
        "task": "trials.audit_chain.seal_sweep",
        "schedule": crontab(minute="*/5"),
    },
    "audit-chain-nightly-verification": {
        "task": "trials.audit_chain.verify",
        "schedule": crontab(hour=3, minute=30),
    },
}
