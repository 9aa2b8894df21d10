from django.apps import AppConfig


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = "Trials, sites and people"

    def ready(self) -> None:
        from . import audit  # noqa: F401  (connects the reason-for-change rule)
