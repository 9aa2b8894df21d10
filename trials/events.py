"""Domain events sent by this floor for the floors above (STYLE.md rule 5).

``analysis_settings_changed(trial_id)`` is sent on commit when a new analysis-settings version is saved. Its one
subscriber is ``outcomes`` (``OutcomesConfig.ready``), which recomputes every derived value of the trial.
"""

from django.db import transaction
from django.dispatch import Signal

analysis_settings_changed = Signal()


def notify_analysis_settings_changed(trial_id: int) -> None:
    transaction.on_commit(lambda: analysis_settings_changed.send(sender="trials", trial_id=trial_id))
