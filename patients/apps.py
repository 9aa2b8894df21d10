from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients and case report forms"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the CRF system checks)
