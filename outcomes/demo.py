"""The whole demo: the base (trials, sites, logins, patients; ``patients.demo``), then every case report form of
every enrolled patient (``patients.demo_*``, ``lesions.demo``), then one recompute of every endpoint.

It lives here, on the top floor, because it uses every app. Live recompute events are paused while the forms are
written (one recompute per patient at the end instead of one per form); everything else goes through the services,
so the demo has a real audit trail and passes every edit check. Re-running adds nothing.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from lesions.demo import seed_lesions
from patients.ctcae import ctcae_import
from patients.demo import DemoSummary, seed_demo
from patients.demo_enrolment_disease import seed_enrolment_disease
from patients.demo_safety_follow_up import seed_safety_follow_up
from patients.events import paused
from patients.models import CtcaeTerm, Patient
from patients.services.randomisation import active_allocation_list, allocation_list_generate, randomise
from trials.models import Role, Trial, User

from . import services

#: NCI's CTCAE v5.0 list as shipped beside the checkout for tests, CI and the demo (never needed at run time).
CTCAE_DEMO_FILE = Path(settings.BASE_DIR).parent / "shared" / "data" / "ctcae_v5.csv"
SEED = 2026
#: The demo's allocation-list seed. A real trial's statistician keeps the seed secret; the EDC stores only its hash.
DEMO_LIST_SEED = "demo-only-avatar2-allocation-seed"


@dataclass
class FullDemoSummary:
    base: DemoSummary
    ctcae_terms: int
    patients_with_forms: int
    recomputed: int


def _site_user(patient: Patient, role: str) -> User | None:
    return User.objects.filter(role=role, is_active=True, memberships__site_id=patient.site_id).order_by("pk").first()


def seed_full_demo(*, today: date | None = None) -> FullDemoSummary:
    today = today or timezone.localdate()
    with paused():
        base = seed_demo(today=today)
        if not CtcaeTerm.objects.exists() and CTCAE_DEMO_FILE.exists():
            ctcae_import(path=CTCAE_DEMO_FILE)
        statistician = User.objects.filter(role=Role.STATISTICIAN, is_active=True).order_by("pk").first()
        for trial in Trial.objects.filter(design="randomised"):
            if active_allocation_list(trial=trial) is None and statistician is not None:
                allocation_list_generate(user=statistician, trial=trial, seed=DEMO_LIST_SEED, reason="Demo data")
        rng = random.Random(SEED)
        filled = 0
        for patient in (
            Patient.objects.filter(enrolment_date__isnull=False).select_related("trial", "site").order_by("pk")
        ):
            coordinator = _site_user(patient, Role.SITE_COORDINATOR)
            if coordinator is None:
                continue
            added = seed_enrolment_disease(patient=patient, user=coordinator, rng=rng, today=today)
            investigator = _site_user(patient, Role.INVESTIGATOR)
            if investigator is not None and not hasattr(patient, "allocation"):
                # COSMO: registration to the single arm. A patient not ready (not eligible) is left as it is.
                with contextlib.suppress(ValidationError):
                    randomise(user=investigator, patient=patient)
            added = seed_lesions(patient=patient, user=coordinator, rng=rng, today=today) or added
            added = bool(seed_safety_follow_up(patient=patient, user=coordinator, rng=rng, today=today)) or added
            filled += int(added)
    recomputed = 0
    for trial_id in Patient.objects.values_list("trial_id", flat=True).distinct():
        recomputed += services.consistency_sweep(trial_id=trial_id)["repaired"]
        services.trial_summaries_recompute(trial_id=trial_id)
    return FullDemoSummary(
        base=base,
        ctcae_terms=CtcaeTerm.objects.count(),
        patients_with_forms=filled,
        recomputed=recomputed,
    )
