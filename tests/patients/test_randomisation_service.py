"""Randomisation services: list generation and its commitment, allocation, corrections, COSMO registration and
minimisation (clinical-spec §6, D17, issue 5). Concurrency on PostgreSQL: test_randomisation_concurrency.py."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from scipy.stats import binomtest

from patients.crfs.enrolment import AvatarEligibility, Randomisation, Registration
from patients.domain.randomisation import (
    AVATAR2_STRATA,
    FindingSeverity,
    check_allocation_list,
    generate_block_list,
    marginal_counts,
    minimise,
)
from patients.models import Allocation, AllocationList, AllocationListRow, StratificationCorrection, StratumCounter
from patients.randomisation import IrrevocableRecord
from patients.services import crf_save
from patients.services.randomisation import (
    allocation_list_generate,
    allocation_list_verify,
    randomise,
    seed_reference_matches,
    stored_block_list,
    stratification_correct,
)
from trials.models import AnalysisSettings, Role

from ..conftest import Cast
from ..scenarios import allocated_patient, patient_ready_for_allocation, site_user

GOLDEN_SEED = "avatar2-golden-seed-2025"
# Pinned: a change to the generator, the strata or the commitment format shows here first.
GOLDEN_COMMITMENT = "c601d2394dbf3dcbd4317aa22a3adc883aea58162334cd074945ac92555b7c39"
GOLDEN_FIRST_ARMS = {
    "ai|1": "BABABABBAAABBAABABAB",
    "ai|2-5": "AABBBABAABBAAABBBBBA",
    "serd|1": "AABBABABBABAABABABBB",
    "serd|2-5": "BAABBABAABBAABABAABB",
}


def _generate(cast: Cast, seed: str | None = GOLDEN_SEED, **kwargs: Any) -> Any:
    return allocation_list_generate(user=cast.user(Role.STATISTICIAN), trial=cast.avatar2, seed=seed, **kwargs)


def _investigator(cast: Cast) -> Any:
    return cast.user(Role.INVESTIGATOR)


# Lists ------------------------------------------------------------------------------------------------------------


def test_a_fixed_seed_reproduces_the_stored_list(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    regenerated = generate_block_list(seed=GOLDEN_SEED, strata=AVATAR2_STRATA, rows_per_stratum=89)
    assert stored.commitment == GOLDEN_COMMITMENT
    assert stored_block_list(stored).rows == tuple(sorted(regenerated.rows, key=lambda r: (r.stratum, r.sequence)))
    for stratum, arms in GOLDEN_FIRST_ARMS.items():
        first = stored.rows.filter(stratum=stratum).order_by("sequence").values_list("arm", flat=True)[:20]
        assert "".join(first) == arms


def test_every_block_of_the_stored_list_is_balanced_with_sizes_4_or_6(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    blocks: dict[tuple[str, int], list[AllocationListRow]] = defaultdict(list)
    for row in stored.rows.all():
        blocks[(row.stratum, row.block)].append(row)
    for rows in blocks.values():
        assert rows[0].block_size in (4, 6)
        assert len(rows) == rows[0].block_size  # every block complete
        assert Counter(row.arm for row in rows) == {"A": rows[0].block_size // 2, "B": rows[0].block_size // 2}
    assert set(stored.strata) == set(AVATAR2_STRATA)
    for stratum in AVATAR2_STRATA:
        assert stored.rows.filter(stratum=stratum).count() >= 89  # ceil(1.2 × 74) for every stratum
    errors = [f for f in check_allocation_list(stored_block_list(stored)) if f.severity == FindingSeverity.ERROR]
    assert errors == []


def test_the_seed_is_never_stored_only_a_salted_reference(cast: Cast) -> None:
    generated = _generate(cast, seed=None)
    stored = AllocationList.objects.get(pk=generated.allocation_list.pk)
    assert generated.seed_generated and len(generated.seed) == 32
    stored_text = " ".join(str(getattr(stored, f.attname)) for f in AllocationList._meta.concrete_fields)
    assert generated.seed not in stored_text
    assert seed_reference_matches(stored.seed_reference, generated.seed)
    assert not seed_reference_matches(stored.seed_reference, generated.seed[:-1] + "x")


@pytest.mark.parametrize(
    "role", [Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER, Role.TRIAL_MANAGER]
)
def test_only_the_statistician_and_sponsor_admin_generate_lists(cast: Cast, role: str) -> None:
    with pytest.raises(Http404):
        allocation_list_generate(user=cast.user(role), trial=cast.avatar2, seed=GOLDEN_SEED)
    assert allocation_list_generate(user=cast.user(Role.SPONSOR_ADMIN), trial=cast.avatar2).allocation_list.version == 1


def test_a_short_seed_is_refused_on_the_seed_field(cast: Cast) -> None:
    with pytest.raises(ValidationError) as error:
        _generate(cast, seed="too-short")
    assert "seed" in error.value.message_dict
    assert not AllocationList.objects.exists()


def test_an_unused_list_is_replaced_only_with_a_reason_and_kept(cast: Cast) -> None:
    first = _generate(cast).allocation_list
    with pytest.raises(ValidationError) as error:
        _generate(cast, seed="another-seed-0123456789")
    assert "reason" in error.value.message_dict
    second = _generate(cast, seed="another-seed-0123456789", reason="Wrong block sizes").allocation_list
    first.refresh_from_db()
    assert (second.version, first.superseded_reason) == (2, "Wrong block sizes")
    assert first.superseded_at is not None and first.rows.count() > 0


def test_a_list_in_use_cannot_be_replaced(cast: Cast) -> None:
    _generate(cast)
    randomise(user=_investigator(cast), patient=patient_ready_for_allocation(cast))
    assert AllocationList.objects.get(version=1).locked
    with pytest.raises(ValidationError, match="in use"):
        _generate(cast, seed="another-seed-0123456789", reason="Try")


def test_a_stale_generation_form_is_refused(cast: Cast) -> None:
    _generate(cast, expected_version=0)
    with pytest.raises(ValidationError, match="generated after you opened"):
        _generate(cast, expected_version=0, reason="Double click")


def test_verification_recomputes_the_commitment_and_catches_a_changed_row(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    statistician = cast.user(Role.STATISTICIAN)
    assert allocation_list_verify(user=statistician, allocation_list=stored).ok
    with_seed = allocation_list_verify(user=statistician, allocation_list=stored, seed=GOLDEN_SEED)
    assert with_seed.ok and with_seed.seed_matches and with_seed.regenerated_matches
    wrong_seed = allocation_list_verify(user=statistician, allocation_list=stored, seed="not-the-seed-0123456789")
    assert not wrong_seed.ok and wrong_seed.seed_matches is False and wrong_seed.regenerated_matches is False

    row = stored.rows.get(stratum="ai|1", sequence=1)
    AllocationListRow.objects.filter(pk=row.pk).update(arm="A" if row.arm == "B" else "B")
    tampered = allocation_list_verify(user=statistician, allocation_list=stored)
    assert not tampered.commitment_matches and not tampered.ok
    with pytest.raises(Http404):
        allocation_list_verify(user=cast.user(Role.DATA_MANAGER), allocation_list=stored)


# Allocation -------------------------------------------------------------------------------------------------------


def test_randomising_stores_who_when_stratum_row_and_version_and_sets_the_arm_on_the_form(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    patient = patient_ready_for_allocation(cast, factors={"endocrine_partner": "serd", "oligo_lesions": "2-5"})
    result = randomise(user=_investigator(cast), patient=patient)
    allocation = result.allocation
    assert result.created
    assert (allocation.stratum, allocation.list_row.sequence, allocation.list_version) == ("serd|2-5", 1, 1)
    assert allocation.arm.code == stored.rows.get(stratum="serd|2-5", sequence=1).arm == "B"
    assert allocation.method == "permuted_blocks" and allocation.algorithm_version == stored.generator_version
    assert allocation.allocated_by == _investigator(cast) and allocation.allocated_at.utcoffset() == timedelta(0)
    assert allocation.factors == {"endocrine_partner": "serd", "oligo_lesions": "2-5"}
    assert allocation.settings_version == 1
    form = Randomisation.objects.get(patient=patient)
    assert form.arm == allocation.arm
    latest = form.history.latest()
    assert (latest.history_change_reason, latest.history_user) == ("Allocated by randomisation", _investigator(cast))
    assert StratumCounter.objects.get(allocation_list=stored, stratum="serd|2-5").next_sequence == 2


def test_a_repeated_request_returns_the_same_allocation(cast: Cast) -> None:
    _generate(cast)
    patient = patient_ready_for_allocation(cast)
    first = randomise(user=_investigator(cast), patient=patient)
    again = randomise(user=_investigator(cast), patient=patient)
    assert (again.created, again.allocation.pk) == (False, first.allocation.pk)
    assert Allocation.objects.count() == 1
    assert StratumCounter.objects.get(stratum="ai|1").next_sequence == 2


def test_each_stratum_takes_its_rows_in_sequence(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    strata = ["ai|1", "serd|2-5", "ai|1", "ai|1", "serd|2-5", "ai|1"]
    for n, stratum in enumerate(strata):
        partner, lesions = stratum.split("|")
        patient = patient_ready_for_allocation(
            cast, screening_number=f"R-{n}", factors={"endocrine_partner": partner, "oligo_lesions": lesions}
        )
        randomise(user=_investigator(cast), patient=patient)
    for stratum, n in Counter(strata).items():
        used = Allocation.objects.filter(stratum=stratum).order_by("pk")
        assert [a.list_row.sequence for a in used] == list(range(1, n + 1))
        assert [a.arm.code for a in used] == [
            r.arm for r in stored.rows.filter(stratum=stratum).order_by("sequence")[:n]
        ]


def test_only_the_site_investigator_of_the_patients_site_randomises(cast: Cast) -> None:
    _generate(cast)
    patient = patient_ready_for_allocation(cast)
    for role in (Role.SITE_COORDINATOR, Role.MONITOR, Role.DATA_MANAGER, Role.STATISTICIAN, Role.SPONSOR_ADMIN):
        with pytest.raises(Http404):
            randomise(user=cast.user(role), patient=patient)
    with pytest.raises(Http404):
        randomise(user=site_user(cast, Role.INVESTIGATOR, cast.site_b), patient=patient)
    assert not Allocation.objects.exists()


def test_randomisation_waits_for_a_complete_form_and_a_confirmed_eligibility(cast: Cast) -> None:
    _generate(cast)
    with pytest.raises(ValidationError) as error:
        randomise(user=_investigator(cast), patient=cast.patient_a)  # no checklist, no form
    assert set(error.value.message_dict) == {"eligibility", "__all__"}
    patient = patient_ready_for_allocation(cast)
    AvatarEligibility.objects.filter(patient=patient).update(confirmed_by=None, confirmed_at=None)
    with pytest.raises(ValidationError) as error:
        randomise(user=_investigator(cast), patient=patient)
    assert error.value.message_dict == {
        "eligibility": ["The site investigator must confirm eligibility before the patient can be randomised."]
    }
    assert not Allocation.objects.exists() and not Randomisation.objects.get(patient=patient).arm_id


def test_a_form_changed_since_the_confirmation_page_is_refused(cast: Cast) -> None:
    _generate(cast)
    patient = patient_ready_for_allocation(cast)
    version = Randomisation.objects.get(patient=patient).version
    with pytest.raises(ValidationError) as error:
        randomise(user=_investigator(cast), patient=patient, expected_version=version - 1)
    assert "crf_version" in error.value.message_dict
    assert randomise(user=_investigator(cast), patient=patient, expected_version=version).created


def test_without_a_list_nobody_is_randomised(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="No allocation list"):
        randomise(user=_investigator(cast), patient=patient_ready_for_allocation(cast))


def test_a_used_up_stratum_refuses_instead_of_skipping(cast: Cast) -> None:
    stored = _generate(cast).allocation_list
    StratumCounter.objects.filter(allocation_list=stored, stratum="ai|1").update(next_sequence=1000)
    with pytest.raises(ValidationError, match="used up"):
        randomise(user=_investigator(cast), patient=patient_ready_for_allocation(cast))


def test_an_allocation_is_irrevocable(cast: Cast) -> None:
    allocation = allocated_patient(cast)
    with pytest.raises(IrrevocableRecord):
        allocation.save()
    with pytest.raises(IrrevocableRecord):
        allocation.delete()


def test_a_corrected_factor_is_recorded_and_reported_but_never_re_randomises(cast: Cast) -> None:
    allocation = allocated_patient(cast)
    before = (allocation.arm_id, allocation.stratum, allocation.list_row_id)
    coordinator = cast.user(Role.SITE_COORDINATOR)
    made = stratification_correct(
        user=coordinator, patient=allocation.patient, values={"oligo_lesions": "2-5"}, reason="Two lesions on review"
    )
    assert [(c.field, c.old_value, c.new_value, c.corrected_by, c.reason) for c in made] == [
        ("oligo_lesions", "1", "2-5", coordinator, "Two lesions on review")
    ]
    # The same form corrected again through the ordinary form path is recorded too, from the last value.
    form = Randomisation.objects.get(patient=allocation.patient)
    crf_save(
        user=coordinator,
        model=Randomisation,
        patient=allocation.patient,
        instance=form,
        values={"oligo_lesions": "1"},
        complete=True,
        reason="Review was wrong",
    )
    corrections = StratificationCorrection.objects.filter(allocation=allocation).order_by("pk")
    assert [(c.old_value, c.new_value, c.reason) for c in corrections] == [
        ("1", "2-5", "Two lesions on review"),
        ("2-5", "1", "Review was wrong"),
    ]
    allocation.refresh_from_db()
    assert (allocation.arm_id, allocation.stratum, allocation.list_row_id) == before
    assert Allocation.objects.count() == 1


def test_a_correction_needs_a_reason_and_a_stratification_factor(cast: Cast) -> None:
    allocation = allocated_patient(cast)
    coordinator = cast.user(Role.SITE_COORDINATOR)
    with pytest.raises(ValidationError):
        stratification_correct(user=coordinator, patient=allocation.patient, values={"oligo_lesions": "2-5"}, reason="")
    with pytest.raises(ValidationError) as error:
        stratification_correct(
            user=coordinator, patient=allocation.patient, values={"randomisation_date": None}, reason="x"
        )
    assert "randomisation_date" in error.value.message_dict
    assert not StratificationCorrection.objects.exists()


def test_cosmo_registers_to_its_single_arm_through_the_same_gate(cast: Cast) -> None:
    patient = patient_ready_for_allocation(cast, trial="cosmo")
    allocation = randomise(user=_investigator(cast), patient=patient).allocation
    assert (allocation.method, allocation.arm.code, allocation.list_row, allocation.stratum) == (
        "registration",
        "LAT",
        None,
        "",
    )
    form = Registration.objects.get(patient=patient)
    assert form.arm == allocation.arm
    assert form.history.latest().history_change_reason == "Allocated by registration"
    with pytest.raises(Http404):
        randomise(
            user=cast.user(Role.SITE_COORDINATOR),
            patient=patient_ready_for_allocation(cast, trial="cosmo", screening_number="R-2"),
        )


# Minimisation -----------------------------------------------------------------------------------------------------


def _use_minimisation(cast: Cast) -> None:
    # The cast's patients are enrolled, so the settings service would refuse the switch; set the method directly.
    AnalysisSettings.objects.filter(trial=cast.avatar2).update(randomisation_method="minimisation")


def _minimised(cast: Cast, n: int, rng: random.Random) -> list[Allocation]:
    for i in range(n):
        site = cast.site_b if i % 3 == 0 else cast.site_a
        factors = {
            "endocrine_partner": "ai" if rng.random() < 0.65 else "serd",
            "oligo_lesions": "1" if rng.random() < 0.55 else "2-5",
        }
        patient = patient_ready_for_allocation(cast, site=site, screening_number=f"M-{i}", factors=factors)
        randomise(user=site_user(cast, Role.INVESTIGATOR, site), patient=patient, random=rng.random)
    return list(Allocation.objects.order_by("pk").select_related("arm"))


def test_minimisation_allocations_replay_from_their_stored_state_and_draws(cast: Cast) -> None:
    _use_minimisation(cast)
    allocations = _minimised(cast, 16, random.Random(20250203))
    for index, allocation in enumerate(allocations):
        earlier = [
            ({k: a.factors[k] for k in ("site", "endocrine_partner", "oligo_lesions")}, a.arm.code)
            for a in allocations[:index]
        ]
        levels = {k: allocation.factors[k] for k in ("site", "endocrine_partner", "oligo_lesions")}
        replay = minimise(
            counts=marginal_counts(earlier),
            patient_levels=levels,
            p=0.8,
            draw=allocation.random_draws["draw"],
            tie_draw=allocation.random_draws["tie_draw"],
        )
        assert replay.chosen_arm == allocation.arm.code
        assert replay.as_record() == allocation.minimisation_state
        assert allocation.method == "minimisation" and allocation.list_row is None
    assert not AllocationList.objects.exists()


def test_minimisation_follows_the_preferred_arm_with_probability_p_and_stays_balanced(cast: Cast) -> None:
    _use_minimisation(cast)
    allocations = _minimised(cast, 74, random.Random(7))
    decided = [a.minimisation_state for a in allocations if a.minimisation_state["preferred_arm"] is not None]
    followed = sum(state["chosen_arm"] == state["preferred_arm"] for state in decided)
    # Binomial test against p = 0.8: a broken draw (ignoring p, or always following) is rejected.
    assert binomtest(followed, len(decided), 0.8).pvalue > 0.001
    arms = Counter(a.arm.code for a in allocations)
    assert abs(arms["A"] - arms["B"]) <= 4


def test_minimisation_draws_come_from_the_system_csprng_by_default(cast: Cast, monkeypatch: Any) -> None:
    draws_made: list[float] = []

    class Spy(random.SystemRandom):
        def random(self) -> float:
            draws_made.append(super().random())
            return draws_made[-1]

    monkeypatch.setattr("patients.services.randomisation.secrets.SystemRandom", Spy)
    _use_minimisation(cast)
    allocation = randomise(user=_investigator(cast), patient=patient_ready_for_allocation(cast)).allocation
    assert allocation.random_draws == {"draw": draws_made[0], "tie_draw": draws_made[1]}
