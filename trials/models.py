"""Trial configuration, sites, people and the scope every query of site-owned data starts from.

This app is the ground floor: every other app may import it; it imports none of them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    SITE_COORDINATOR = "site_coordinator", "Site coordinator"
    INVESTIGATOR = "investigator", "Site investigator (PI)"
    MONITOR = "monitor", "Monitor (CRA)"
    DATA_MANAGER = "data_manager", "Data manager"
    STATISTICIAN = "statistician", "Statistician"
    TRIAL_MANAGER = "trial_manager", "Trial manager"
    SPONSOR_ADMIN = "sponsor_admin", "Sponsor admin"


#: Roles whose scope is every site (trials.md, "People and what they may do"); the others see only their sites.
ALL_SITE_ROLES = frozenset({Role.DATA_MANAGER, Role.STATISTICIAN, Role.TRIAL_MANAGER, Role.SPONSOR_ADMIN})


class Site(models.Model):
    code = models.CharField(
        max_length=8,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}[0-9]{2}$", "Use a country code and two digits, e.g. NL01.")],
        help_text="Country code and number, e.g. NL01; part of every subject id.",
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 country code.")
    city = models.CharField(max_length=100, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """A person using the EDC. One role; site-scoped roles also hold site memberships."""

    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    sites = models.ManyToManyField(Site, through="SiteMembership", related_name="members", blank=True)
    # Login bookkeeping (last_login) is not clinical data: user edits are audited but need no reason.
    reason_for_change_required = False
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    @property
    def has_all_sites(self) -> bool:
        return self.is_active and self.role in ALL_SITE_ROLES

    def site_ids(self) -> set[int] | None:
        """The ids of the sites in scope, or ``None`` meaning every site."""
        if not self.is_active or not self.role:
            return set()
        if self.has_all_sites:
            return None
        cached: set[int] | None = getattr(self, "_site_ids_cache", None)
        if cached is None:
            cached = set(self.memberships.values_list("site_id", flat=True))
            self._site_ids_cache = cached
        return cached


class SiteMembership(models.Model):
    """A site-scoped user (coordinator, investigator, monitor) works at or is assigned to a site."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site.code}"


class SiteScopedQuerySet(models.QuerySet[Any]):
    """Every read of site-owned data starts here: ``Model.objects.for_user(user)``."""

    site_field = "site"

    def for_user(self, user: Any) -> SiteScopedQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        site_ids = user.site_ids()
        if site_ids is None:
            return self
        return self.filter(**{f"{self.site_field}__in": site_ids})


class SiteOwnedModel(models.Model):
    """Base of every site-owned record: it carries its site, and its manager scopes reads to a user."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class TrialDesign(models.TextChoices):
    SINGLE_ARM = "single_arm", "Single arm"
    RANDOMISED = "randomised", "Randomised"


class TrialStatus(models.TextChoices):
    IN_SET_UP = "in_set_up", "In set-up"
    RECRUITING = "recruiting", "Recruiting"
    FOLLOW_UP = "follow_up", "Follow-up only"
    FROZEN = "frozen", "Frozen"
    LOCKED = "locked", "Locked"


class TrialDataState(models.TextChoices):
    """Whether a trial's data may change (issue 8), apart from its recruitment ``status``: open; frozen (no data
    entry, queries still possible); locked (read-only). Changed by ``patients.services.oversight``; enforced by
    ``patients.locking.ensure_writable`` on every clinical write."""

    OPEN = "open", "Open"
    FROZEN = "frozen", "Frozen"
    LOCKED = "locked", "Locked"


class Trial(models.Model):
    code = models.SlugField(max_length=20, unique=True)
    subject_prefix = models.CharField(
        max_length=8,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,8}$", "Upper-case letters and digits only.")],
        help_text="Starts every subject id, e.g. AVT2 in AVT2-NL01-0007.",
    )
    short_name = models.CharField(max_length=40)
    title = models.TextField()
    registry_id = models.CharField(max_length=40, blank=True, help_text="e.g. NCT06882499")
    design = models.CharField(max_length=16, choices=TrialDesign.choices)
    target_enrolment = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=TrialStatus.choices, default=TrialStatus.IN_SET_UP)
    data_state = models.CharField(max_length=8, choices=TrialDataState.choices, default=TrialDataState.OPEN)
    primary_endpoint = models.CharField(max_length=200)
    sites = models.ManyToManyField(Site, through="TrialSite", related_name="trials")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.short_name

    @property
    def is_randomised(self) -> bool:
        return self.design == TrialDesign.RANDOMISED


class TrialSite(models.Model):
    """A site's participation in a trial."""

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="trial_sites")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="trial_sites")
    activation_date = models.DateField(null=True, blank=True, help_text="Site initiation; no patient before it.")
    target_enrolment = models.PositiveIntegerField(default=0)
    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "site__code"]
        constraints = [models.UniqueConstraint(fields=["trial", "site"], name="unique_trial_site")]

    def __str__(self) -> str:
        return f"{self.trial} @ {self.site.code}"


class Arm(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="arms")
    code = models.CharField(max_length=8)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "code"]
        constraints = [models.UniqueConstraint(fields=["trial", "code"], name="unique_arm_code")]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class VisitKind(models.TextChoices):
    SCREENING = "screening", "Screening"
    ENROLMENT = "enrolment", "Registration / randomisation"
    TREATMENT = "treatment", "Local ablative treatment"
    FOLLOW_UP = "follow_up", "Follow-up"
    LONG_TERM = "long_term", "Long-term follow-up"
    UNSCHEDULED = "unscheduled", "Unscheduled"


class VisitDefinition(models.Model):
    """A visit of the schedule, with its target day (from the origin) and its window.

    A repeating visit (follow-up every 12 weeks) has ``repeat_interval_days``: occurrence k falls on
    ``day + (k - 1) * repeat_interval_days`` with the same window.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="visit_definitions")
    code = models.SlugField(max_length=30)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=VisitKind.choices)
    order = models.PositiveSmallIntegerField()
    day = models.IntegerField(help_text="Target day relative to the origin (registration / randomisation).")
    window_before = models.PositiveIntegerField(default=0, help_text="Days allowed before the target day.")
    window_after = models.PositiveIntegerField(default=0, help_text="Days allowed after the target day.")
    repeat_interval_days = models.PositiveIntegerField(null=True, blank=True)
    repeat_count = models.PositiveIntegerField(null=True, blank=True, help_text="Occurrences of a repeating visit.")
    content = models.TextField(blank=True, help_text="What is collected at this visit.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "order"]
        constraints = [models.UniqueConstraint(fields=["trial", "code"], name="unique_visit_code")]

    def __str__(self) -> str:
        return self.name


class OriginEvent(models.TextChoices):
    RANDOMISATION = "randomisation", "Randomisation date"
    REGISTRATION = "registration", "Registration date"
    FIRST_LAT = "first_lat", "First local ablative treatment (sensitivity)"


class RandomisationMethod(models.TextChoices):
    NONE = "none", "None (registration)"
    PERMUTED_BLOCKS = "permuted_blocks", "Stratified permuted blocks"
    MINIMISATION = "minimisation", "Pocock-Simon minimisation"


def default_strata() -> dict[str, Any]:
    return {}


def default_block_sizes() -> list[int]:
    return [4, 6]


class AnalysisSettings(models.Model):
    """One version of a trial's analysis settings (decisions.md D1–D40).

    Rows are never edited: a change creates version n + 1 with a reason, so every derived value can name the
    version it was computed with. Settings marked "fixed" in decisions.md are not settings and live in the engines.
    """

    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="analysis_settings")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(help_text="Why this version was created.")

    # D1, D3
    origin_event = models.CharField(max_length=16, choices=OriginEvent.choices)
    landmark_days = models.DecimalField(
        max_digits=7, decimal_places=3, default=Decimal("182.625"), validators=[MinValueValidator(Decimal("1"))]
    )
    # D4
    count_clinical_progression = models.BooleanField(default=True)
    # D5
    baseline_window_days = models.PositiveIntegerField(default=28, validators=[MaxValueValidator(90)])
    # D6 (D7's EMA-style sensitivity is always computed alongside)
    censor_at_new_therapy = models.BooleanField(default=True)
    missed_visit_censoring = models.BooleanField(default=True)
    # D8
    interval_days = models.PositiveIntegerField(default=84, validators=[MinValueValidator(7)])
    window_days = models.PositiveIntegerField(default=14)
    # D10
    max_oligo_lesions = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1)])
    tsf_toxicity_switch_is_event = models.BooleanField(default=False)
    # D12
    ttnt_death_is_event = models.BooleanField(default=False)
    # D13
    confirmation_required = models.BooleanField(default=False)
    min_confirm_days = models.PositiveIntegerField(default=28)
    min_sd_days = models.PositiveIntegerField(default=42)
    # D14
    qol_horizon_days = models.PositiveIntegerField(default=336)
    # D15
    lat_acute_days = models.PositiveIntegerField(default=90)
    # D17
    randomisation_method = models.CharField(max_length=16, choices=RandomisationMethod.choices)
    randomisation_block_sizes = models.JSONField(default=default_block_sizes, blank=True)
    minimisation_probability = models.DecimalField(max_digits=3, decimal_places=2, default=Decimal("0.80"))
    strata_definition = models.JSONField(default=default_strata, blank=True)
    # D18
    localisation_table_version = models.CharField(max_length=20, default="1")
    # Data cut-off for analyses (clinical-spec §2.1); empty means "all data".
    data_cutoff_date = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "-version"]
        constraints = [models.UniqueConstraint(fields=["trial", "version"], name="unique_settings_version")]
        verbose_name_plural = "analysis settings"

    def __str__(self) -> str:
        return f"{self.trial} analysis settings v{self.version}"

    #: The fields a new version copies and a statistician may change.
    @classmethod
    def setting_fields(cls) -> list[str]:
        excluded = {"id", "trial", "version", "created_at", "created_by", "reason"}
        return [f.name for f in cls._meta.concrete_fields if f.name not in excluded]

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.setting_fields()}


class ApiToken(models.Model):
    """A personal API token: ``Authorization: Token edc_<prefix>_<secret>`` acts as its user, nothing more.

    Only a SHA-256 hash of the whole token is stored (the secret is 238 random bits, so a fast unsalted hash is
    enough: there is nothing to brute-force, cf. GitHub's token design and OWASP ASVS 4.0 §2.9/§3.5); the short
    ``prefix`` is not secret and finds the row and names the token on screens. The secret is shown once, at
    creation, and cannot be recovered. Every token expires (at most a year, NIST SP 800-63B §7.1's reauthentication
    spirit); a revoked token is kept, with who revoked it and why, for the audit trail. ``last_used_at`` is
    bookkeeping, written without a history row and at most once a minute (``trials.services_tokens``).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'R analysis laptop'.")
    prefix = models.CharField(max_length=16, unique=True, help_text="The non-secret start of the token.")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the whole token.")
    read_only = models.BooleanField(default=False, help_text="Refuse every request that could change data.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = models.TextField(blank=True)
    history = HistoricalRecords(excluded_fields=["secret_hash", "last_used_at"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (edc_{self.prefix}_…)"

    @property
    def status(self) -> str:
        """``revoked``, ``expired`` or ``active``: what a request with this token gets."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class ApiIdempotencyKey(models.Model):
    """One API create made under an ``Idempotency-Key`` header (``trials.idempotency``): the record it created, and
    a fingerprint of the request, so that the same request sent again (a client retrying after a lost answer)
    answers with that record instead of creating a second one, and the same key with another request is refused.

    Written in the create's own transaction: the record and its key commit together or not at all. A key names one
    create of its user for good (no expiry: a row is a few bytes per create made with a key). Technical
    bookkeeping, not clinical data: no history of its own (the record it points to has one)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 (hex) of the method, path and JSON body.")
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")]
        verbose_name = "API idempotency key"

    def __str__(self) -> str:
        return f"{self.key} → {self.content_type_id}:{self.object_id}"


# The audit chain and sign-in log live in their own module (issue 8); imported here so Django registers them.
from .models_compliance import (  # noqa: E402, F401
    AuditChainEntry,
    AuditChainHead,
    AuditChainPending,
    AuditVerification,
    SignInEvent,
    SignInOutcome,
)
