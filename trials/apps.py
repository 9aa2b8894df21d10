from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = "Trials, sites and people"

    def ready(self) -> None:
        from . import (
            audit,  # noqa: F401  (connects the reason-for-change rule)
            schema,  # noqa: F401  (registers the API token scheme with drf-spectacular)
        )

        self._connect_compliance()

    def _connect_compliance(self) -> None:
        """Issue 8: the tamper-evident audit trail and the sign-in log."""
        from . import audit_chain, security
        from .audit_chain import tasks  # noqa: F401  (registers the audit-chain Celery tasks by name)

        audit_chain.connect_signals()  # every history row is sealed into the hash chain
        security.connect_signals()  # the sign-in log; users who entered data are never deleted
        post_migrate.connect(audit_chain.triggers.install_after_migrate, sender=self, dispatch_uid="audit_triggers")
