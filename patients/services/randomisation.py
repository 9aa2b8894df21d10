"""Writes of randomisation: list generation, allocation, stratification corrections and list verification.

Every screen, API view and management command calls these (STYLE.md rule 3). The rules (clinical-spec §6, D17):

- The method is the trial's analysis setting (permuted blocks by default, minimisation the alternative). The
  settings service refuses a method change once a patient is enrolled, and a patient is enrolled (randomisation form
  complete) before being allocated, so the method is locked before the first allocation; ``randomise`` refuses to
  mix methods all the same.
- ``allocation_list_generate``: by the statistician (or sponsor admin), from a secret seed the statistician gives or
  receives once, ``recommended_rows`` rows per stratum, stored with its SHA-256 commitment; the seed is not stored
  (``patients.randomisation`` explains the salted reference). A list may be replaced, with a reason, only until the
  first allocation locks it.
- ``randomise``: by the site investigator, after a complete, eligible, investigator-confirmed checklist and a
  complete randomisation form (the stratification factors). Irrevocable and idempotent: a repeated request returns
  the allocation made. COSMO registers to its single arm through the same gate and record.
- Concurrency (§6.3), inside one transaction: the patient row is locked (one allocation per patient); with permuted
  blocks, the stratum's ``StratumCounter`` row (``SELECT ... FOR UPDATE``, never ``skip_locked``), then the row at
  ``next_sequence``, the allocation, and the counter advanced; with minimisation, the trial row, so each patient
  sees every earlier allocation. Unique constraints on the patient and the list row are the backstop. A transaction
  that dies releases its lock and rolls its counter back: the next request takes the same row.
- A stratification factor corrected after allocation is recorded (``StratificationCorrection``) whatever path saved
  the form, and never re-randomises.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from trials.audit import require_reason, stamp
from trials.models import AnalysisSettings, Arm, RandomisationMethod, Trial
from trials.permissions import Capability, require
from trials.selectors import analysis_settings_current

from ..crfs.enrolment import Enrolment, Randomisation, eligibility_confirmed, enrolment_model_for
from ..domain import randomisation as engine
from ..edit_checks import CheckContext
from ..events import notify_patient_data_changed
from ..locking import ensure_writable
from ..models import Patient
from ..randomisation import (
    Allocation,
    AllocationList,
    AllocationListRow,
    AllocationMethod,
    StratificationCorrection,
    StratumCounter,
)
from .crfs import crf_save

REGISTRATION_VERSION = "registration/1"
ALLOCATED_BY_RANDOMISATION = "Allocated by randomisation"
ALLOCATED_BY_REGISTRATION = "Allocated by registration"
SEED_REFERENCE_SCHEME = "sha256"

#: The draws of the minimisation random element: uniform on [0, 1) from a CSPRNG (§6.2).
RandomSource = Callable[[], float]


# Strata ------------------------------------------------------------------------------------------------------------


def strata_factors(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The stratification factors of a trial's ``strata_definition`` (trials/configuration.py), in order."""
    factors = definition.get("factors") or []
    return [factor for factor in factors if factor.get("code") and factor.get("levels")]


def strata_codes(definition: dict[str, Any]) -> tuple[str, ...]:
    """Every stratum: the levels of the factors crossed, joined by ``|`` (``ai|1`` ...), in definition order.

    For AVATAR II this is ``engine.AVATAR2_STRATA``."""
    levels = [[level["code"] for level in factor["levels"]] for factor in strata_factors(definition)]
    return tuple("|".join(combination) for combination in product(*levels)) if levels else ()


def patient_factors(record: Enrolment, definition: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The patient's stratum and factor levels as entered on the randomisation form; errors name the field."""
    factors: dict[str, str] = {}
    errors: dict[str, str] = {}
    for factor in strata_factors(definition):
        code = factor["code"]
        value = str(getattr(record, code, "") or "")
        allowed = [level["code"] for level in factor["levels"]]
        if value not in allowed:
            errors[code] = f"Enter the stratification factor {factor.get('label', code).lower()} on the form first."
        factors[code] = value
    if errors:
        raise ValidationError(errors)
    return "|".join(factors.values()), factors


# Seeds ------------------------------------------------------------------------------------------------------------


def seed_reference_make(seed: str) -> str:
    """``sha256$<salt>$<SHA-256(salt + seed)>``: recognises the seed later; the seed itself is never stored."""
    salt = secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}{seed}".encode()).hexdigest()
    return f"{SEED_REFERENCE_SCHEME}${salt}${digest}"


def seed_reference_matches(reference: str, seed: str) -> bool:
    scheme, _, rest = reference.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != SEED_REFERENCE_SCHEME or not salt or not digest:
        return False
    return hmac.compare_digest(hashlib.sha256(f"{salt}{seed}".encode()).hexdigest(), digest)


# Lists ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedList:
    allocation_list: AllocationList
    #: the seed, to hand to the statistician once; ``seed_generated`` says the EDC drew it (secrets.token_hex(16))
    seed: str
    seed_generated: bool


def active_allocation_list(*, trial: Trial) -> AllocationList | None:
    return trial.allocation_lists.filter(superseded_at__isnull=True).order_by("-version").first()


def _field_error(error: ValueError, field: str) -> ValidationError:
    return ValidationError({field: str(error)})


@transaction.atomic
def allocation_list_generate(
    *,
    user: Any,
    trial: Trial,
    seed: str | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> GeneratedList:
    """Generate, store and commit to a new stratified permuted-block list for ``trial``.

    ``seed`` empty: the EDC draws ``secrets.token_hex(16)`` and returns it once. ``expected_version`` is the latest
    list version the statistician saw (0 for none): a repeated or crossed submission is refused instead of
    replacing a list twice. An existing list is replaced (superseded, kept) only before its first allocation and
    with a reason.
    """
    require(user, Capability.MANAGE_RANDOMISATION)
    if not trial.is_randomised:
        raise ValidationError(f"{trial} is not randomised: patients are registered, no list is needed.")
    # One generation at a time per trial: versions n+1, n+2, never a clash.
    Trial.objects.select_for_update().get(pk=trial.pk)
    settings = analysis_settings_current(trial=trial)
    if settings.randomisation_method != RandomisationMethod.PERMUTED_BLOCKS:
        raise ValidationError(
            f"{trial} allocates by {settings.get_randomisation_method_display().lower()}: "
            "an allocation list is used only with stratified permuted blocks."
        )
    latest = trial.allocation_lists.order_by("-version").first()
    latest_version = latest.version if latest else 0
    if expected_version is not None and expected_version != latest_version:
        raise ValidationError(
            f"List version {latest_version} was generated after you opened this page; "
            "reload it before generating another."
        )
    current = active_allocation_list(trial=trial)
    if current is not None:
        # Lock every stratum of the current list: a randomisation under way finishes first and we then see it.
        list(StratumCounter.objects.select_for_update().filter(allocation_list=current).order_by("pk"))
        if AllocationList.objects.filter(pk=current.pk, locked=True).exists() or current.allocations.exists():
            raise ValidationError(
                f"List version {current.version} is in use (patients were allocated from it): it cannot be replaced."
            )
        try:
            reason = require_reason(reason)
        except ValidationError as error:
            raise ValidationError({"reason": "Give the reason for replacing the current list."}) from error

    generated = not seed
    seed = secrets.token_hex(16) if generated else str(seed)
    strata = strata_codes(settings.strata_definition)
    if not strata:
        raise ValidationError(f"{trial} has no stratification factors in its analysis settings.")
    arms = tuple(trial.arms.order_by("code").values_list("code", flat=True))
    try:
        rows_per_stratum = engine.recommended_rows(trial.target_enrolment, len(strata))
        block_list = engine.generate_block_list(
            seed=seed,
            strata=strata,
            arms=arms,
            block_sizes=tuple(settings.randomisation_block_sizes),
            rows_per_stratum=rows_per_stratum,
        )
    except ValueError as error:
        raise _field_error(error, "seed" if "seed" in str(error) else NON_FIELD_ERRORS) from error
    broken = [
        finding.message
        for finding in engine.check_allocation_list(block_list, allowed_block_sizes=block_list.block_sizes)
        if finding.severity == engine.FindingSeverity.ERROR
    ]
    if broken:  # the generator guarantees these; a failure here is a bug, and the list must not be used
        raise ValidationError(broken)

    now = timezone.now()
    if current is not None:
        current.superseded_at = now
        current.superseded_reason = reason
        current.save(update_fields=["superseded_at", "superseded_reason"])
    new = AllocationList.objects.create(
        trial=trial,
        version=latest_version + 1,
        method=AllocationMethod.PERMUTED_BLOCKS,
        generator_version=block_list.generator_version,
        arms=list(block_list.arms),
        block_sizes=list(block_list.block_sizes),
        strata=list(strata),
        rows_per_stratum=rows_per_stratum,
        settings_version=settings.version,
        seed_reference=seed_reference_make(seed),
        commitment=engine.list_commitment(block_list),
        reason=reason.strip() or "Allocation list generated",
        created_by=user,
    )
    AllocationListRow.objects.bulk_create(
        AllocationListRow(
            allocation_list=new,
            stratum=row.stratum,
            sequence=row.sequence,
            block=row.block,
            block_size=row.block_size,
            arm=row.arm,
        )
        for row in block_list.rows
    )
    StratumCounter.objects.bulk_create(StratumCounter(allocation_list=new, stratum=stratum) for stratum in strata)
    return GeneratedList(allocation_list=new, seed=seed, seed_generated=generated)


def stored_block_list(allocation_list: AllocationList) -> engine.AllocationList:
    """The stored list as the engine's value, rows in stratum and sequence order."""
    rows = tuple(
        engine.AllocationRow(stratum=s, sequence=q, block=b, block_size=z, arm=a)
        for s, q, b, z, a in allocation_list.rows.order_by("stratum", "sequence").values_list(
            "stratum", "sequence", "block", "block_size", "arm"
        )
    )
    return engine.AllocationList(
        generator_version=allocation_list.generator_version,
        arms=tuple(allocation_list.arms),
        block_sizes=tuple(allocation_list.block_sizes),
        rows=rows,
    )


@dataclass(frozen=True)
class ListVerification:
    allocation_list: AllocationList
    stored_commitment: str
    recomputed_commitment: str
    commitment_matches: bool
    findings: tuple[engine.ListFinding, ...]
    #: with a seed only: whether it is the seed of the list, and whether regenerating from it gives the stored list
    seed_matches: bool | None = None
    regenerated_matches: bool | None = None

    @property
    def rule_errors(self) -> list[engine.ListFinding]:
        return [f for f in self.findings if f.severity == engine.FindingSeverity.ERROR]

    @property
    def ok(self) -> bool:
        return (
            self.commitment_matches
            and not self.rule_errors
            and self.seed_matches is not False
            and self.regenerated_matches is not False
        )


def allocation_list_verify(*, user: Any, allocation_list: AllocationList, seed: str | None = None) -> ListVerification:
    """Recompute the commitment from the stored rows, rerun the §6.4 checks and, given the seed, regenerate the list
    and compare it row for row. Nothing is written."""
    require(user, Capability.MANAGE_RANDOMISATION)
    stored = stored_block_list(allocation_list)
    recomputed = engine.list_commitment(stored)
    seed_matches: bool | None = None
    regenerated_matches: bool | None = None
    if seed:
        seed_matches = seed_reference_matches(allocation_list.seed_reference, seed)
        try:
            regenerated = engine.generate_block_list(
                seed=seed,
                strata=tuple(allocation_list.strata),
                arms=tuple(allocation_list.arms),
                block_sizes=tuple(allocation_list.block_sizes),
                rows_per_stratum=allocation_list.rows_per_stratum,
            )
        except ValueError:
            regenerated_matches = False
        else:
            regenerated_matches = (
                regenerated.generator_version == allocation_list.generator_version
                and sorted(regenerated.rows, key=lambda r: (r.stratum, r.sequence)) == list(stored.rows)
                and hmac.compare_digest(engine.list_commitment(regenerated), allocation_list.commitment)
            )
    return ListVerification(
        allocation_list=allocation_list,
        stored_commitment=allocation_list.commitment,
        recomputed_commitment=recomputed,
        commitment_matches=hmac.compare_digest(recomputed, allocation_list.commitment),
        findings=engine.check_allocation_list(stored, allowed_block_sizes=tuple(allocation_list.block_sizes)),
        seed_matches=seed_matches,
        regenerated_matches=regenerated_matches,
    )


# Allocation -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readiness:
    """What the confirmation screen shows before a patient is allocated, and what blocks it."""

    record: Enrolment | None
    stratum: str
    factors: dict[str, str]
    errors: dict[str, list[str]]

    @property
    def ready(self) -> bool:
        return not self.errors


def allocation_readiness(*, patient: Patient, user: Any = None, record: Enrolment | None = None) -> Readiness:
    """Whether ``patient`` may be allocated now: complete, eligible, investigator-confirmed checklist (§6.2) and a
    complete registration / randomisation form with valid stratification factors. Nothing is written."""
    model = enrolment_model_for(patient.trial.code)
    if model is None:
        return Readiness(None, "", {}, {NON_FIELD_ERRORS: [f"{patient.trial} has no registration form."]})
    if record is None:
        record = model._default_manager.filter(patient=patient).first()
    errors: dict[str, list[str]] = {}
    context = CheckContext(patient=patient, today=timezone.localdate(), completing=True, user=user)
    for finding in eligibility_confirmed(record or model(patient=patient), context):
        errors.setdefault("eligibility", []).append(finding.message)
    stratum, factors = "", dict[str, str]()
    if record is None or not record.is_complete:
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            f"Complete the {model.crf.name.lower()} form first"
            + (" (date and stratification factors)." if patient.trial.is_randomised else " (date).")
        )
    elif patient.trial.is_randomised:
        try:
            stratum, factors = patient_factors(record, analysis_settings_current(trial=patient.trial).strata_definition)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    return Readiness(record, stratum, factors, errors)


@dataclass(frozen=True)
class AllocationResult:
    allocation: Allocation
    #: False when the patient was already allocated and the same allocation is returned (idempotent request)
    created: bool


def randomise(
    *,
    user: Any,
    patient: Patient,
    expected_version: int | None = None,
    random: RandomSource | None = None,
) -> AllocationResult:
    """Allocate ``patient`` (AVATAR II: randomise; COSMO: register to the single arm). Irrevocable and idempotent.

    ``expected_version`` is the randomisation form's version shown on the confirmation screen: if the form changed
    since, the investigator must look at the factors again. ``random`` replaces the CSPRNG of the minimisation draws
    (tests only; the draws are stored with the allocation either way). Outside the user's scope: 404.
    """
    require(user, Capability.RANDOMISE)
    if not Patient.objects.for_user(user).filter(pk=patient.pk).exists():
        raise Http404
    with transaction.atomic():
        # One allocation per patient: a second request waits here, then returns the first one's allocation.
        # ``of=("self",)``: lock the patient only, not the trial and site rows the join reads.
        patient = Patient.objects.select_for_update(of=("self",)).select_related("trial", "site").get(pk=patient.pk)
        ensure_writable(patient=patient)  # no allocation in a frozen or locked trial, site or casebook
        existing = Allocation.objects.filter(patient=patient).select_related("arm").first()
        if existing is not None:
            return AllocationResult(existing, created=False)
        trial = patient.trial
        model = enrolment_model_for(trial.code)
        record = (
            model._default_manager.select_for_update(of=("self",)).filter(patient=patient).first() if model else None
        )
        readiness = allocation_readiness(patient=patient, user=user, record=record)
        if not readiness.ready or readiness.record is None:
            raise ValidationError(readiness.errors)
        record = readiness.record
        if expected_version is not None and record.version != expected_version:
            raise ValidationError(
                {
                    "crf_version": f"The {record.crf.name.lower()} form changed after you opened the confirmation "
                    "page: check the stratification factors again."
                }
            )
        common: dict[str, Any] = {
            "site_id": patient.site_id,
            "patient": patient,
            "trial": trial,
            "stratum": readiness.stratum,
            "factors": readiness.factors,
            "allocated_by": user,
        }
        if not trial.is_randomised:
            allocation = _register(trial=trial, common=common)
            reason = ALLOCATED_BY_REGISTRATION
        else:
            settings = analysis_settings_current(trial=trial)
            common["settings_version"] = settings.version
            method = settings.randomisation_method
            if Allocation.objects.filter(trial=trial).exclude(method=method).exists():
                raise ValidationError("The randomisation method changed after the first allocation (D17 forbids it).")
            if method == RandomisationMethod.PERMUTED_BLOCKS:
                allocation = _allocate_from_list(trial=trial, common=common)
            elif method == RandomisationMethod.MINIMISATION:
                allocation = _allocate_by_minimisation(
                    trial=trial, patient=patient, settings=settings, common=common, random=random
                )
            else:
                raise ValidationError(f"{trial} has no randomisation method in its analysis settings.")
            reason = ALLOCATED_BY_RANDOMISATION
        _record_arm(record=record, allocation=allocation, user=user, reason=reason)
        notify_patient_data_changed(patient.pk)
    return AllocationResult(allocation, created=True)


def _register(*, trial: Trial, common: dict[str, Any]) -> Allocation:
    arms = list(trial.arms.all())
    if len(arms) != 1:
        raise ValidationError(f"{trial} should have exactly one arm to register patients to; it has {len(arms)}.")
    return Allocation.objects.create(
        arm=arms[0],
        method=AllocationMethod.REGISTRATION,
        algorithm_version=REGISTRATION_VERSION,
        allocated_at=timezone.now(),
        **common,
    )


def _allocate_from_list(*, trial: Trial, common: dict[str, Any]) -> Allocation:
    stratum = common["stratum"]
    for _attempt in range(3):
        active = active_allocation_list(trial=trial)
        if active is None:
            raise ValidationError("No allocation list yet: the trial statistician must generate one.")
        # The stratum's lock: concurrent randomisations in the stratum queue here, in turn (never skip_locked).
        counter = StratumCounter.objects.select_for_update().filter(allocation_list=active, stratum=stratum).first()
        if counter is None:
            raise ValidationError(f"The allocation list has no stratum {stratum}.")
        # A list replaced while we waited (possible only before its first allocation): take the new one.
        if AllocationList.objects.filter(pk=active.pk, superseded_at__isnull=True).exists():
            break
    else:
        raise ValidationError("The allocation list is being replaced; try again in a moment.")
    row = AllocationListRow.objects.filter(
        allocation_list=active, stratum=stratum, sequence=counter.next_sequence
    ).first()
    if row is None:
        raise ValidationError(
            f"The allocation list is used up in stratum {stratum}: the trial statistician must be contacted."
        )
    allocation = Allocation.objects.create(
        arm=Arm.objects.get(trial=trial, code=row.arm),
        method=AllocationMethod.PERMUTED_BLOCKS,
        algorithm_version=active.generator_version,
        allocation_list=active,
        list_version=active.version,
        list_row=row,
        allocated_at=timezone.now(),  # taken under the stratum's lock: the stratum's order in time
        **common,
    )
    counter.next_sequence += 1
    counter.save(update_fields=["next_sequence"])
    if not active.locked:
        AllocationList.objects.filter(pk=active.pk).update(locked=True)
    return allocation


def minimisation_history(*, trial: Trial) -> list[tuple[dict[str, str], str]]:
    """Every earlier minimisation allocation of the trial as (factors as randomised, arm code), in the order they were
    made (under the trial's lock, so primary keys grow with it)."""
    return [
        (dict(factors), arm)
        for factors, arm in Allocation.objects.filter(trial=trial, method=AllocationMethod.MINIMISATION)
        .order_by("pk")
        .values_list("factors", "arm__code")
    ]


def minimisation_factor_codes(definition: dict[str, Any]) -> list[str]:
    return list(definition.get("minimisation_factors") or [f["code"] for f in strata_factors(definition)])


def _allocate_by_minimisation(
    *, trial: Trial, patient: Patient, settings: AnalysisSettings, common: dict[str, Any], random: RandomSource | None
) -> Allocation:
    # The trial's lock: minimisation depends on every earlier allocation, so allocations go one at a time.
    Trial.objects.select_for_update().get(pk=trial.pk)
    factor_codes = minimisation_factor_codes(settings.strata_definition)
    factors = {**common["factors"], "site": patient.site.code}
    levels = {code: factors[code] for code in factor_codes}
    counts = engine.marginal_counts(
        ({code: earlier.get(code, "") for code in factor_codes}, arm)
        for earlier, arm in minimisation_history(trial=trial)
    )
    draw_source = random or secrets.SystemRandom().random
    draw, tie_draw = draw_source(), draw_source()
    decision = engine.minimise(
        counts=counts,
        patient_levels=levels,
        arms=tuple(trial.arms.order_by("code").values_list("code", flat=True)),
        p=settings.minimisation_probability,
        draw=draw,
        tie_draw=tie_draw,
    )
    return Allocation.objects.create(
        arm=Arm.objects.get(trial=trial, code=decision.chosen_arm),
        method=AllocationMethod.MINIMISATION,
        algorithm_version=decision.algorithm_version,
        minimisation_state=decision.as_record(),
        random_draws={"draw": draw, "tie_draw": tie_draw},
        allocated_at=timezone.now(),
        **{**common, "factors": factors},
    )


def _record_arm(*, record: Enrolment, allocation: Allocation, user: Any, reason: str) -> None:
    """Put the allocated arm on the form: a non-editable field, saved directly with the audit reason."""
    record.arm = allocation.arm
    record.version += 1  # the form row is locked by ``randomise``: a form opened before is refused on save
    stamp(record, user=user, reason=reason)
    record.save(update_fields=["arm", "version", "updated_at"])


# Stratification corrections ----------------------------------------------------------------------------------------


def stratification_corrections_record(
    *, record: Randomisation, update_fields: Iterable[str] | None = None
) -> list[StratificationCorrection]:
    """Record each stratification factor on ``record`` that differs from the allocation's (as last corrected).

    Called on every save of a randomisation form (``patients.randomisation``); the author and reason are those
    stamped on the record by the saving service. Never re-randomises: the allocation stays as it was."""
    allocation = Allocation.objects.filter(patient_id=record.patient_id).first()
    if allocation is None:
        return []
    fields = [code for code in allocation.factors if code != "site"]
    if update_fields is not None and not set(update_fields) & set(fields):
        return []
    current = dict(allocation.factors)
    for correction in allocation.corrections.order_by("corrected_at", "pk"):
        current[correction.field] = correction.new_value
    made = []
    for field in fields:
        new = str(getattr(record, field, "") or "")
        if new != current.get(field, ""):
            made.append(
                StratificationCorrection.objects.create(
                    site_id=allocation.site_id,
                    allocation=allocation,
                    field=field,
                    old_value=current.get(field, ""),
                    new_value=new,
                    corrected_by=getattr(record, "_history_user", None),
                    reason=getattr(record, "_change_reason", "") or "",
                )
            )
    return made


def stratification_correct(
    *,
    user: Any,
    patient: Patient,
    values: dict[str, Any],
    reason: str,
    expected_version: int | None = None,
) -> list[StratificationCorrection]:
    """Correct stratification factors on an allocated patient's randomisation form, with a reason.

    The form is saved through ``crf_save`` (permission, checks, audit); the correction is recorded and reported;
    the allocation, its stratum and its arm do not change."""
    require(user, Capability.EDIT_CLINICAL_DATA)
    allocation = Allocation.objects.for_user(user).filter(patient=patient).first()
    if allocation is None:
        raise ValidationError("This patient is not allocated yet: correct the randomisation form itself.")
    allowed = {code for code in allocation.factors if code != "site"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError({name: "Not a stratification factor." for name in sorted(unknown)})
    reason = require_reason(reason)
    record = Randomisation.objects.get(patient=patient)
    with transaction.atomic():
        before = set(allocation.corrections.values_list("pk", flat=True))
        crf_save(
            user=user,
            model=Randomisation,
            patient=patient,
            instance=record,
            values=values,
            complete=True,
            reason=reason,
            expected_version=expected_version,
        )
        return list(allocation.corrections.exclude(pk__in=before).order_by("pk"))


__all__ = [
    "ALLOCATED_BY_RANDOMISATION",
    "ALLOCATED_BY_REGISTRATION",
    "AllocationResult",
    "GeneratedList",
    "ListVerification",
    "Readiness",
    "active_allocation_list",
    "allocation_list_generate",
    "allocation_list_verify",
    "allocation_readiness",
    "minimisation_history",
    "patient_factors",
    "randomise",
    "seed_reference_make",
    "seed_reference_matches",
    "stored_block_list",
    "strata_codes",
    "stratification_correct",
    "stratification_corrections_record",
]
