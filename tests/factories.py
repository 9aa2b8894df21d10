"""factory_boy factories for the shared cast. Records are created as a first save (no reason needed)."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory

from patients.models import Patient, PatientStatus, Sex
from trials.models import Site, Trial, TrialSite, User


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"XX{n % 100:02d}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")
    country = factory.LazyAttribute(lambda o: o.code[:2])


class TrialSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrialSite
        django_get_or_create = ("trial", "site")

    trial = factory.Iterator(Trial.objects.all())
    site = factory.SubFactory(SiteFactory)
    activation_date = date(2024, 1, 15)
    target_enrolment = 12


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.django.Password("Correct-Horse-Battery-42")

    @factory.post_generation
    def sites(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            for site in extracted:
                self.memberships.get_or_create(site=site)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    trial = factory.LazyFunction(lambda: Trial.objects.get(code="avatar2"))
    site = factory.SubFactory(SiteFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    subject_id = factory.LazyAttribute(lambda o: f"{o.trial.subject_prefix}-{o.site.code}-{o.sequence:04d}")
    screening_number = factory.LazyAttribute(lambda o: f"SCR-{o.sequence:03d}")
    age_at_consent = 58
    sex = Sex.FEMALE
    consent_date = date(2025, 3, 3)
    enrolment_date = date(2025, 3, 24)
    status = PatientStatus.ON_STUDY
