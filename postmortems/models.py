"""Post-incident reviews and action items.

Models hold state and invariants only; every write goes through `postmortems.services`.
The review's sections follow the procedures in shared/seeds: seed 001 "Post-Incident Review"
(summary, timeline, root cause, resolution, prevention, lessons learned, follow-up tasks),
seed 004 "Post-Mortem Meeting Structure" (meeting and agenda) and seed 000 "Business Impact
Validation Template" (before/after state and ROI). The agenda, the follow-up tasks and the
reminder offsets are data (ReviewAgendaItem, FollowUpTask, ReviewReminder)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from incidents.models import Incident, Service, TimelineEntry

MAX_REMINDER_OFFSET = timedelta(days=365)
REVENUE_PERIODS = {"hour": 1, "day": 24, "week": 24 * 7, "month": 24 * 30}


class PostMortem(ConcurrentTransitionMixin, models.Model):
    """The review of one incident, from scheduled to published."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        DRAFTING = "drafting", "Drafting"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    class RevenuePeriod(models.TextChoices):
        HOUR = "hour", "per hour"
        DAY = "day", "per day"
        WEEK = "week", "per week"
        MONTH = "month", "per month"

    EDITABLE_STATES = (State.SCHEDULED, State.DRAFTING)

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    state = FSMField(
        max_length=20, choices=State.choices, default=State.SCHEDULED, protected=True,
        db_index=True,
    )
    # Bumped on every write; forms carry it so a stale edit is refused instead of overwriting.
    version = models.PositiveIntegerField(default=1, editable=False)
    is_required = models.BooleanField(
        default=False, help_text="The incident's severity requires a review (closing waits for it)."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="postmortems_owned",
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    review_comments = models.TextField(
        blank=True, help_text="The reviewer's comments when the review went back to drafting."
    )

    waived = models.BooleanField(default=False)
    waived_reason = models.TextField(blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    waived_at = models.DateTimeField(null=True, blank=True)

    # Summary (prefilled from the incident)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What happened, in a few sentences.")
    started_at = models.DateTimeField("started", null=True, blank=True)
    ended_at = models.DateTimeField("ended", null=True, blank=True)
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    services_affected = models.ManyToManyField(Service, blank=True, related_name="+")
    impact_description = models.TextField(blank=True)

    # Analysis
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True, help_text="One factor per line.")
    five_whys = models.JSONField(default=list, blank=True)
    resolution = models.TextField(blank=True)
    prevention_measures = models.TextField(blank=True, help_text="One measure per line.")
    went_well = models.TextField("what went well", blank=True)
    could_improve = models.TextField("what could be improved", blank=True)
    follow_ups_done = models.JSONField(default=list, blank=True)

    # Meeting (seed 004)
    meeting_at = models.DateTimeField("meeting time", null=True, blank=True)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="postmortem_meetings"
    )
    agenda_done = models.JSONField(default=list, blank=True)
    meeting_notes = models.TextField(blank=True)

    # Business impact validation (seed 000)
    before_revenue_impact = models.DecimalField(
        "revenue impact before (per hour)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    before_customer_access_pct = models.DecimalField(
        "customer accessibility before (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    before_error_rate = models.CharField("error rates before", max_length=200, blank=True)
    before_functionality = models.TextField("system functionality before", blank=True)
    after_revenue_impact = models.DecimalField(
        "remaining revenue impact after (per hour)", max_digits=14, decimal_places=2, null=True,
        blank=True,
    )
    after_customer_access_pct = models.DecimalField(
        "customer accessibility after (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    after_error_rate = models.CharField("error rates after", max_length=200, blank=True)
    after_functionality = models.TextField("system functionality after", blank=True)
    duration_hours_override = models.DecimalField(
        "duration (hours)", max_digits=10, decimal_places=2, null=True, blank=True,
        help_text="Leave empty to use the incident's detected and resolved times.",
    )
    revenue_lost_override = models.DecimalField(
        "revenue lost", max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Leave empty to use revenue impact per hour × duration.",
    )
    resolution_hours = models.DecimalField(
        "hours spent resolving", max_digits=10, decimal_places=2, null=True, blank=True
    )
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    revenue_restored = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="Leave empty to use the incident's revenue impact per hour over the period.",
    )
    revenue_restored_period = models.CharField(
        max_length=10, choices=RevenuePeriod.choices, default=RevenuePeriod.MONTH
    )

    history = HistoricalRecords(
        bases=[FSMModelMixin, models.Model], excluded_fields=["version"]
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "post-mortem"
        indexes = [models.Index(fields=["state", "due_at"])]
        permissions = [
            ("review_postmortem", "Can review, return and publish post-mortems"),
            ("waive_postmortem", "Can waive a required post-mortem"),
        ]

    def __str__(self) -> str:
        return f"Post-mortem {self.incident.reference}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:detail", kwargs={"reference": self.incident.reference})

    @property
    def is_editable(self) -> bool:
        return self.state in self.EDITABLE_STATES

    @property
    def is_settled(self) -> bool:
        """Published or waived: nothing is owed any more."""
        return self.state == self.State.PUBLISHED or self.waived

    @property
    def is_overdue(self) -> bool:
        return bool(self.due_at and not self.is_settled and self.due_at < timezone.now())

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.ended_at and self.ended_at >= self.started_at:
            return self.ended_at - self.started_at
        return None

    @property
    def contributing_factor_list(self) -> list[str]:
        return [line.strip() for line in self.contributing_factors.splitlines() if line.strip()]

    @property
    def prevention_list(self) -> list[str]:
        return [line.strip() for line in self.prevention_measures.splitlines() if line.strip()]

    @property
    def follow_up_list(self) -> list[dict]:
        """The active follow-up tasks, plus retired ones this review already ticked."""
        tasks = FollowUpTask.objects.filter(Q(is_active=True) | Q(slug__in=self.follow_ups_done))
        return [{"key": t.slug, "label": t.label, "kind": t.kind,
                 "done": t.slug in self.follow_ups_done} for t in tasks]

    @property
    def agenda(self) -> list[dict]:
        """The active agenda, plus retired points this review already covered."""
        points = ReviewAgendaItem.objects.filter(Q(is_active=True) | Q(slug__in=self.agenda_done))
        return [{"key": p.slug, "label": p.label, "minutes": p.minutes,
                 "done": p.slug in self.agenda_done} for p in points]

    def submit_refusals(self) -> list[str]:
        """What the draft still lacks before it can go to review, in words."""
        missing = [label for field, label in (
            ("summary", "a summary"), ("root_cause", "the root cause"),
            ("resolution", "the resolution"),
        ) if not getattr(self, field).strip()]
        if missing:
            return [f"Fill in {', '.join(missing)} before submitting the review."]
        return []

    # --- Lifecycle ------------------------------------------------------------------------

    @transition(field=state, source=State.SCHEDULED, target=State.DRAFTING,
                permission="postmortems.change_postmortem",
                custom={"label": "Start drafting"})
    def start_drafting(self):
        pass

    @transition(field=state, source=State.DRAFTING, target=State.IN_REVIEW,
                permission="postmortems.change_postmortem",
                conditions=[lambda pm: not pm.submit_refusals()],
                custom={"label": "Submit for review"})
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(field=state, source=State.IN_REVIEW, target=State.DRAFTING,
                permission="postmortems.review_postmortem",
                custom={"label": "Return to drafting"})
    def return_to_drafting(self):
        pass

    @transition(field=state, source=State.IN_REVIEW, target=State.PUBLISHED,
                permission="postmortems.review_postmortem",
                custom={"label": "Publish"})
    def publish(self):
        self.published_at = timezone.now()


class PostMortemTimelineItem(models.Model):
    """A line of the review's timeline: imported from the incident's timeline or added here.
    Editing it never changes the incident's own record."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="timeline")
    source_entry = models.ForeignKey(
        TimelineEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    text = models.TextField()
    included = models.BooleanField(default=True, help_text="Shown in the published review.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = "post-mortem timeline item"
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "source_entry"], name="pm_timeline_one_copy_per_entry",
                condition=models.Q(source_entry__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.text[:60]}"


class ActionItemQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(state__in=ActionItem.UNFINISHED_STATES)

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.unfinished().filter(due_date__lt=today)


class ActionItem(ConcurrentTransitionMixin, models.Model):
    """A promise made in a review: an owner, a due date and a state that says whether it was kept."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Priority(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    class Kind(models.TextChoices):
        PREVENTION = "prevention", "Prevention"
        MONITORING = "monitoring", "Monitoring"
        TEST = "test", "Test"
        DOCUMENTATION = "documentation", "Documentation"
        PROCESS = "process", "Process"

    UNFINISHED_STATES = (State.OPEN, State.IN_PROGRESS)

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items"
    )
    due_date = models.DateField(db_index=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PREVENTION)
    ticket_url = models.URLField("external ticket", max_length=500, blank=True)
    follow_up = models.CharField(max_length=40, blank=True, help_text="The follow-up task it came from.")
    state = FSMField(
        max_length=20, choices=State.choices, default=State.OPEN, protected=True, db_index=True
    )
    wont_do_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(bases=[FSMModelMixin, models.Model])
    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["owner", "state"]), models.Index(fields=["state", "due_date"])]
        permissions = [("manage_action_items", "Can edit and reassign anyone's action items")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action_item_edit", kwargs={"pk": self.pk})

    @property
    def is_unfinished(self) -> bool:
        return self.state in self.UNFINISHED_STATES

    @property
    def due_moment(self) -> datetime:
        """The end of the due date in the organisation's time zone: overdue after this."""
        next_day = self.due_date + timedelta(days=1)
        return timezone.make_aware(datetime.combine(next_day, time.min))

    @property
    def is_overdue(self) -> bool:
        return self.is_unfinished and timezone.now() >= self.due_moment

    # --- Lifecycle ------------------------------------------------------------------------

    @transition(field=state, source=State.OPEN, target=State.IN_PROGRESS,
                custom={"label": "Start"})
    def start(self):
        pass

    @transition(field=state, source=[State.OPEN, State.IN_PROGRESS], target=State.DONE,
                custom={"label": "Mark done"})
    def complete(self):
        self.completed_at = timezone.now()

    @transition(field=state, source=[State.OPEN, State.IN_PROGRESS], target=State.WONT_DO,
                conditions=[lambda item: bool(item.wont_do_reason.strip())],
                custom={"label": "Won't do"})
    def wont_do(self):
        self.completed_at = timezone.now()

    @transition(field=state, source=[State.DONE, State.WONT_DO], target=State.OPEN,
                custom={"label": "Reopen"})
    def reopen(self):
        self.completed_at = None
        self.wont_do_reason = ""


# --- The review procedure as data ----------------------------------------------------------
# Managers edit these in the admin; the default rows reproduce seed 004's meeting agenda,
# seed 001's follow-up tasks (plus seed 002's playbook) and the reminders Firebreak always sent.


class ReviewAgendaItem(models.Model):
    """One point of the post-mortem meeting's agenda, with its time box."""

    slug = models.SlugField(max_length=40, unique=True,
                            help_text="Stable name used in exports, imports and ticked reviews.")
    label = models.CharField(max_length=200)
    minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(480)],
        help_text="Time box in minutes (0: no time box).")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "review agenda item"

    def __str__(self) -> str:
        return f"{self.label} ({self.minutes} min)" if self.minutes else self.label

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class FollowUpTask(models.Model):
    """A follow-up every review considers; one click turns it into an action item of its kind."""

    slug = models.SlugField(max_length=40, unique=True,
                            help_text="Stable name used in exports, imports and ticked reviews.")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ActionItem.Kind.choices,
                            default=ActionItem.Kind.PREVENTION,
                            help_text="The kind of the action item it becomes.")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class ReviewReminder(models.Model):
    """When reviews and action items chase people: an offset before (or after) the due time
    and who is told. The due moment itself always tells the owner (and, for a review, the
    incident manager and managers)."""

    class Subject(models.TextChoices):
        POSTMORTEM = "postmortem", "Post-mortem"
        ACTION_ITEM = "action_item", "Action item"

    class Direction(models.TextChoices):
        BEFORE = "before", "before it is due"
        AFTER = "after", "after it was due"

    class Recipients(models.TextChoices):
        OWNER = "owner", "The owner"
        OWNER_AND_INCIDENT_MANAGER = "owner_and_incident_manager", \
            "The owner and the incident manager"
        INCIDENT_MANAGER_OR_MANAGERS = "incident_manager_or_managers", \
            "The incident manager (managers when there is none)"
        MANAGERS = "managers", "Managers"

    slug = models.SlugField(max_length=40, unique=True)
    subject = models.CharField(max_length=20, choices=Subject.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices,
                                 default=Direction.BEFORE)
    offset = models.DurationField(help_text="How long before (or after) the due time.")
    window_share = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
        help_text="Reviews only: remind at least this share of the review window before it is "
                  "due (0.25: a quarter), when that is earlier than the offset.")
    recipients = models.CharField(max_length=40, choices=Recipients.choices,
                                  default=Recipients.OWNER)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["subject", "direction", "offset"]

    def __str__(self) -> str:
        return f"{self.get_subject_display()}: {self.offset} {self.get_direction_display()}"

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def clean(self):
        if self.offset is not None and (self.offset.total_seconds() <= 0
                                        or self.offset > MAX_REMINDER_OFFSET):
            raise ValidationError({"offset": "Choose an offset between 1 minute and 365 days."})
        if self.window_share is not None and self.subject != self.Subject.POSTMORTEM:
            raise ValidationError({"window_share": "Only review reminders use a share of the "
                                                   "review window."})


class ReportSection(models.Model):
    """One heading of the published review's report (Markdown and PDF), in order: which part of
    the review fills it and what the team's document calls it (seed 001's "Post-Incident
    Review: [title]" with "Prevention Measures", seed 003's "Incident Report - [date]"). With
    no active rows the report has every part under Firebreak's own headings."""

    class Part(models.TextChoices):
        TITLE = "title", "Report title"
        SUMMARY = "summary", "Summary (dates, severity, review state, owner)"
        TIMELINE = "timeline", "Timeline"
        IMPACT = "impact", "Impact (users, duration, services, revenue)"
        ROOT_CAUSE = "root_cause", "Root cause (with contributing factors and five whys)"
        RESOLUTION = "resolution", "Resolution"
        PREVENTION = "prevention", "Prevention measures"
        LESSONS = "lessons", "Lessons learned (what went well, what could be improved)"
        BUSINESS_IMPACT = "business_impact", "Business impact validation and ROI"
        ACTION_ITEMS = "action_items", "Action items"
        FOLLOW_UPS = "follow_ups", "Follow-up tasks"

    part = models.CharField(max_length=20, choices=Part.choices, unique=True)
    heading = models.CharField(
        max_length=200,
        help_text="What the report calls it. For the title, {date}, {reference} and {title} "
                  "stand for the incident's start date, reference and the review's title.")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "review report section"

    def __str__(self) -> str:
        return self.heading

    def natural_key(self) -> tuple[str]:
        return (self.part,)
