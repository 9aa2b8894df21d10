from typing import Any

from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Endpoints and analyses"

    def ready(self) -> None:
        # The one pull upward: data changed below → recompute here (STYLE.md rule 5).
        from patients.events import patient_data_changed
        from trials.events import analysis_settings_changed

        from .tasks import enqueue_patient_recompute, enqueue_trial_sweep

        def on_patient_data_changed(sender: Any, patient_id: int, **kwargs: Any) -> None:
            enqueue_patient_recompute(patient_id)

        def on_analysis_settings_changed(sender: Any, trial_id: int, **kwargs: Any) -> None:
            enqueue_trial_sweep(trial_id)

        patient_data_changed.connect(on_patient_data_changed, weak=False, dispatch_uid="outcomes_recompute_patient")
        analysis_settings_changed.connect(
            on_analysis_settings_changed, weak=False, dispatch_uid="outcomes_recompute_trial"
        )
