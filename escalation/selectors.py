"""Reads for SLA clocks, escalation and on-call: what pages, the war room and the dashboard show,
and who is called. Each read joins what it shows, so pages use a bounded number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import BigIntegerField, F, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from incidents.declaration_memo import memoised

from . import sla
from .models import (
    BusinessCalendar,
    EscalationEvent,
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    ImpactRule,
    LevelResponseTime,
    Rota,
    RotaOverride,
    SlaClock,
)

# Used when no calendar is marked default, so a business-hours clock still works.
FALLBACK_CALENDAR = sla.WorkingCalendar(time_zone=ZoneInfo("Europe/Amsterdam"),
                                        name="Mon-Fri 09:00-17:00 Europe/Amsterdam")


def at_risk_share(severity=None) -> float:
    """Share of an SLA's time after which it is "at risk": the severity's own setting, else
    the portal default (FIREBREAK_SLA_AT_RISK_SHARE, 0.75)."""
    if severity is not None and severity.at_risk_percent:
        return severity.at_risk_percent / 100
    share = float(getattr(settings, "FIREBREAK_SLA_AT_RISK_SHARE", 0.75))
    return min(max(share, 0.0), 1.0)


def default_working_calendar() -> sla.WorkingCalendar:
    """The default business calendar with its holidays (read once per declaration)."""
    return memoised("default_working_calendar", _default_working_calendar)


def _default_working_calendar() -> sla.WorkingCalendar:
    calendar = BusinessCalendar.objects.filter(is_default=True).first()
    return calendar.working_calendar() if calendar else FALLBACK_CALENDAR


def working_calendar_for(clock: str) -> sla.WorkingCalendar | None:
    return default_working_calendar() if clock == sla.BUSINESS_HOURS else None


# --- SLA clocks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockStatus:
    clock: SlaClock
    status: str  # on_track, at_risk, breached, met, met_late, stopped
    label: str
    css: str  # Bootstrap contextual colour
    time_left: timedelta | None  # until due, while running and not yet due
    overdue_by: timedelta | None  # past due: so far while running, final once met

    @property
    def kind_label(self) -> str:
        return self.clock.get_kind_display()


def clock_status(clock: SlaClock, now: datetime | None = None) -> ClockStatus:
    now = now or timezone.now()
    if clock.is_immediate:
        if clock.met_at is not None:
            return ClockStatus(clock, "acknowledged", "Acknowledged", "success", None, None)
        if clock.stopped_at is not None:
            return ClockStatus(clock, "stopped", "Stopped", "secondary", None, None)
        return ClockStatus(clock, "immediate", "Respond now", "danger", None, None)
    if clock.met_at is not None:
        if clock.breached_at is not None or clock.met_at > clock.due_at:
            return ClockStatus(clock, "met_late", "Met late", "warning", None,
                               clock.breach_by or clock.met_at - clock.due_at)
        return ClockStatus(clock, "met", "Met", "success", None, None)
    if clock.stopped_at is not None:
        return ClockStatus(clock, "stopped", "Stopped", "secondary", None, None)
    if clock.breached_at is not None or clock.due_at <= now:
        return ClockStatus(clock, "breached", "Breached", "danger", None, now - clock.due_at)
    if clock.at_risk_at <= now:
        return ClockStatus(clock, "at_risk", "At risk", "warning", clock.due_at - now, None)
    return ClockStatus(clock, "on_track", "On track", "success", clock.due_at - now, None)


def sla_clocks_for(incident, now: datetime | None = None) -> list[ClockStatus]:
    """The incident's clocks with their status, response first. Uses a prefetch of
    `sla_clocks` when the caller made one (lists), else one query."""
    now = now or timezone.now()
    clocks = sorted(incident.sla_clocks.all(), key=lambda c: c.kind != SlaClock.Kind.RESPONSE)
    return [clock_status(clock, now) for clock in clocks]


def sla_clocks_needing_attention(user, now: datetime | None = None,
                                 limit: int = 50) -> list[ClockStatus]:
    """Running clocks of open incidents `user` may see that are at risk or breached, most
    overdue first, for the dashboard. One query."""
    from incidents.selectors import restrict_to_visible

    now = now or timezone.now()
    clocks = (
        restrict_to_visible(SlaClock.objects.all(), user)
        .filter(met_at__isnull=True, stopped_at__isnull=True, at_risk_at__lte=now,
                incident__state__in=_open_states())
        .exclude(target=timedelta(0))  # immediate: nothing to be at risk of
        .select_related("incident", "incident__severity", "incident__incident_manager")
        .order_by("due_at")[:limit]
    )
    return [clock_status(clock, now) for clock in clocks]


def incidents_with_breached_sla(now: datetime | None = None) -> QuerySet:
    from incidents.models import Incident

    now = now or timezone.now()
    return Incident.objects.filter(
        Q(sla_clocks__breached_at__isnull=False) | Q(sla_clocks__due_at__lte=now),
        sla_clocks__target__gt=timedelta(0),  # immediate clocks never breach
        sla_clocks__met_at__isnull=True, sla_clocks__stopped_at__isnull=True,
        state__in=_open_states(),
    ).distinct()


def _open_states():
    from incidents.models import Incident

    return Incident.OPEN_STATES


# --- On-call rotas ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    rota: Rota
    user: object | None
    starts_at: datetime | None
    ends_at: datetime | None
    override: RotaOverride | None = None


def _prefetched(instance, name: str) -> list | None:
    cache = getattr(instance, "_prefetched_objects_cache", {})
    return list(cache[name]) if name in cache else None


def rotation_shift(rota: Rota, at: datetime) -> tuple[int, datetime, datetime]:
    """(shift number, start, end) of the regular rotation at `at`.

    Counted on the rota's local wall clock, so hand-offs stay at the hand-off time across DST
    changes (the shift over a change is an hour shorter or longer in real time)."""
    zone = ZoneInfo(rota.time_zone)
    local = at.astimezone(zone).replace(tzinfo=None)
    anchor = datetime.combine(rota.rotation_start, rota.handoff_time)
    number = (local - anchor) // rota.shift_length
    start = anchor + number * rota.shift_length
    end = start + rota.shift_length
    return (number, start.replace(tzinfo=zone).astimezone(UTC),
            end.replace(tzinfo=zone).astimezone(UTC))


def on_call_shift(rota: Rota, at: datetime | None = None) -> Shift:
    """Who is on call on `rota` at `at` (now): an override covering that moment wins (the most
    recently created when they overlap), else the member whose turn it is."""
    at = at or timezone.now()
    overrides = _prefetched(rota, "overrides")
    if overrides is None:
        covering = list(rota.overrides.filter(starts_at__lte=at, ends_at__gt=at)
                        .select_related("user"))
    else:
        covering = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if covering:
        override = max(covering, key=lambda o: (o.created_at, o.pk))
        return Shift(rota, override.user, override.starts_at, override.ends_at, override)
    members = _prefetched(rota, "members")
    if members is None:
        members = list(rota.members.select_related("user").order_by("order", "id"))
    members = [m for m in members if m.user.is_active]
    if not members:
        return Shift(rota, None, None, None)
    number, starts_at, ends_at = rotation_shift(rota, at)
    return Shift(rota, members[number % len(members)].user, starts_at, ends_at)


def on_call_now(rota: Rota, at: datetime | None = None):
    """The user on call on `rota` now (or at `at`), or None when the rota has nobody."""
    return on_call_shift(rota, at).user


def oncall_overview(at: datetime | None = None) -> list[dict]:
    """Every rota with who is on call now, until when, and who is next. Three queries."""
    at = at or timezone.now()
    rotas = Rota.objects.prefetch_related(
        Prefetch("members", queryset=_members_queryset()),
        Prefetch("overrides", queryset=RotaOverride.objects.filter(ends_at__gt=at)
                 .select_related("user").order_by("starts_at")),
    )
    overview = []
    for rota in rotas:
        shift = on_call_shift(rota, at)
        following = on_call_shift(rota, shift.ends_at) if shift.ends_at else None
        overview.append({
            "rota": rota,
            "shift": shift,
            "next": following,
            "members": [m.user for m in rota.members.all()],
            "upcoming_overrides": [o for o in rota.overrides.all() if o.starts_at > at][:5],
        })
    return overview


def _members_queryset():
    from .models import RotaMember

    return RotaMember.objects.select_related("user").order_by("order", "id")


# --- Escalation ---------------------------------------------------------------------------


def level_people(level: EscalationLevel, at: datetime | None = None) -> list:
    """Everyone a level calls now: its named people, its groups' members and whoever is on call
    on its rota. Active users only, each once."""
    User = get_user_model()
    users = list(User.objects.filter(
        Q(escalation_levels=level) | Q(groups__escalation_levels=level), is_active=True
    ).distinct())
    if level.rota_id:
        on_call = on_call_now(level.rota, at)
        if on_call is not None and on_call.is_active and on_call.pk not in {u.pk for u in users}:
            users.append(on_call)
    return users


def level_response_time(level: EscalationLevel, severity) -> timedelta | None:
    """How fast `level` should respond at `severity`; the severity's response target otherwise
    (None: a severity without a response SLA sets no time)."""
    row = LevelResponseTime.objects.filter(level=level, severity=severity).first()
    return row.response_time if row else severity.response_target


def default_ladder() -> EscalationLadder | None:
    return EscalationLadder.objects.filter(is_default=True).first()


def escalation_policy_for(incident) -> EscalationPolicy | None:
    """The active policy for the incident's severity and type, with its ladder: the type's own
    policy at that severity, else the severity's policy for any type."""
    return (EscalationPolicy.objects
            .filter(Q(incident_type=incident.incident_type_id) | Q(incident_type__isnull=True),
                    severity_id=incident.severity_id, is_active=True)
            .select_related("ladder")
            .order_by(F("incident_type").asc(nulls_last=True))
            .first())


def impact_rules_for(incident) -> QuerySet[ImpactRule]:
    """Active impact rules that apply to the incident's type (its own and those for every type),
    with their level and conditions."""
    return (ImpactRule.objects
            .filter(Q(incident_type=incident.incident_type_id) | Q(incident_type__isnull=True),
                    is_active=True)
            .select_related("level").prefetch_related("conditions"))


def ladder_for(incident) -> EscalationLadder | None:
    """The ladder the incident climbs: its policy's, else the default ladder."""
    policy = escalation_policy_for(incident)
    return policy.ladder if policy is not None else default_ladder()


def first_level(incident) -> EscalationLevel | None:
    """Who hears of an SLA breach before any escalation: the first level of its ladder."""
    ladder = ladder_for(incident)
    return ladder.levels.order_by("number").first() if ladder is not None else None


def can_acknowledge(event: EscalationEvent, user) -> bool:
    """Someone at the escalated level, the incident manager, or a user allowed to change events."""
    if user is None or not user.is_authenticated:
        return False
    if event.incident.incident_manager_id == user.pk:
        return True
    if user.has_perm("escalation.change_escalationevent"):
        return True
    return any(person.pk == user.pk for person in level_people(event.level))


def current_level(incident) -> EscalationLevel | None:
    """The highest level the incident has been escalated to (while open it is the level
    currently engaged; afterwards, the highest it reached)."""
    return EscalationLevel.objects.filter(events__incident=incident).order_by("-number").first()


def escalation_status(incident, user=None) -> dict:
    """For the incident page and war room: current level, events (newest first) and which of
    them `user` may acknowledge. Three queries plus one per level for acknowledge rights."""
    events = list(
        incident.escalations.select_related("level", "by", "acknowledged_by", "step", "rule")
        .order_by("-at", "-id")
    )
    top = max(events, key=lambda e: e.level.number).level if events else None
    acknowledgeable = set()
    if user is not None:
        rights: dict[int, bool] = {}
        for event in events:
            if event.acknowledged_at is None:
                if event.level_id not in rights:
                    event.incident = incident
                    rights[event.level_id] = can_acknowledge(event, user)
                if rights[event.level_id]:
                    acknowledgeable.add(event.pk)
    return {
        "current_level": top,
        "events": events,
        "unacknowledged": [e for e in events if e.acknowledged_at is None],
        "acknowledgeable": acknowledgeable,
    }


class LevelDirectory:
    """Who each level calls and how fast it should answer, loaded once for many escalations
    and breaches at different moments (a sweep batch): `level_people` and
    `level_response_time` without a query per timer."""

    def __init__(self, since: datetime | None = None):
        self._since = since  # no moment asked about is earlier: older overrides are skipped
        self._static: dict[int, list] = {}
        self._rotas: dict[int, Rota] = {}
        self._response_times: dict | None = None
        self._levels: dict[int, list[EscalationLevel]] | None = None
        self._policies: dict | None = None
        self._default_ladder: int | None = None
        self._perms: dict[int, tuple[set[str], dict[int, set[str]]]] = {}
        self._triage_rotas: list[int] | None = None

    def _policy_for(self, incident) -> EscalationPolicy | None:
        if self._policies is None:
            self._policies = {(p.severity_id, p.incident_type_id): p
                              for p in EscalationPolicy.objects.filter(is_active=True)}
            default = default_ladder()
            self._default_ladder = default.pk if default is not None else None
        return self._policies.get((incident.severity_id, incident.incident_type_id),
                                  self._policies.get((incident.severity_id, None)))

    def policy_id_for(self, incident) -> int | None:
        """As `escalation_policy_for(incident)`, the active policies read once."""
        policy = self._policy_for(incident)
        return policy.pk if policy is not None else None

    def ladder_id_for(self, incident) -> int | None:
        """As `ladder_for(incident)`: its policy's ladder, else the default ladder."""
        policy = self._policy_for(incident)
        return policy.ladder_id if policy is not None else self._default_ladder

    def ladder_levels(self, incident) -> list[EscalationLevel]:
        """The levels of the ladder `incident` climbs, lowest first."""
        if self._levels is None:
            self._levels = {}
            for level in EscalationLevel.objects.order_by("ladder_id", "number"):
                self._levels.setdefault(level.ladder_id, []).append(level)
        return self._levels.get(self.ladder_id_for(incident), [])

    def first_level(self, incident) -> EscalationLevel | None:
        """As `first_level(incident)`."""
        levels = self.ladder_levels(incident)
        return levels[0] if levels else None

    def level_people(self, level: EscalationLevel, at: datetime) -> list:
        """As `level_people(level, at)`."""
        if level.pk not in self._static:
            User = get_user_model()
            self._static[level.pk] = list(User.objects.filter(
                Q(escalation_levels=level) | Q(groups__escalation_levels=level), is_active=True
            ).distinct())
        users = list(self._static[level.pk])
        if level.rota_id:
            on_call = on_call_shift(self._rota(level.rota_id), at).user
            if on_call is not None and on_call.is_active and on_call.pk not in {u.pk for u in users}:
                users.append(on_call)
        return users

    def _rota(self, rota_id: int) -> Rota:
        if rota_id not in self._rotas:
            overrides = RotaOverride.objects.select_related("user").order_by("starts_at")
            if self._since is not None:
                overrides = overrides.filter(ends_at__gt=self._since)
            self._rotas[rota_id] = Rota.objects.prefetch_related(
                Prefetch("members", queryset=_members_queryset()),
                Prefetch("overrides", queryset=overrides),
            ).get(pk=rota_id)
        return self._rotas[rota_id]

    def user_may(self, user, perm: str, at: datetime) -> bool:
        """As `user_may(user, perm, at)`, each person's permissions read once."""
        if user is None or not user.is_active:
            return False
        if user.is_superuser:
            return True
        if user.pk not in self._perms:
            self._perms[user.pk] = (user_permissions(user), duty_permission_grants(user))
        own, duties = self._perms[user.pk]
        if perm in own:
            return True
        for rota_id, granted in duties.items():
            if perm in granted:
                on_call = on_call_shift(self._rota(rota_id), at).user
                if on_call is not None and on_call.pk == user.pk:
                    return True
        return False

    def people_who_may_triage(self, incident, at: datetime) -> list:
        """As `people_who_may_triage(incident, at)`."""
        if self._triage_rotas is None:
            self._triage_rotas = list(triage_duty_rotas().values_list("pk", flat=True))
        on_duty = []
        for rota_id in self._triage_rotas:
            person = on_call_shift(self._rota(rota_id), at).user
            if (person is not None and person.is_active and person not in on_duty
                    and self.user_may(person, TRIAGE_PERMISSION, at)):
                on_duty.append(person)
        if on_duty:
            return on_duty
        for level in self.ladder_levels(incident):
            able = [p for p in self.level_people(level, at)
                    if self.user_may(p, TRIAGE_PERMISSION, at)]
            if able:
                return able
        return []

    def level_response_time(self, level: EscalationLevel, severity) -> timedelta | None:
        """As `level_response_time(level, severity)`."""
        if self._response_times is None:
            self._response_times = {
                (row.level_id, row.severity_id): row.response_time
                for row in LevelResponseTime.objects.all()}
        return self._response_times.get((level.pk, severity.pk), severity.response_target)

    def levels_at(self, moments: list[tuple[object, datetime]]
                  ) -> dict[tuple[int, datetime], EscalationLevel]:
        """For each (incident, moment): the highest level the incident had reached before
        then (as `current_level`, but as of the moment), keyed by (incident id, moment), in one
        query. Asking as of the moment makes the answer the same whatever order a sweep batch
        handles its timers in; "before" keeps it so for a step due at that very moment (a
        ladder's step often falls due with the response SLA), which pages its own level and is
        on record only once its timer, maybe the later one, has fired."""
        events: dict[int, list[EscalationEvent]] = {}
        for event in (EscalationEvent.objects
                      .filter(incident__in={incident.pk for incident, _ in moments})
                      .select_related("level")):
            events.setdefault(event.incident_id, []).append(event)
        top = {}
        for incident, at in moments:
            reached = [e.level for e in events.get(incident.pk, []) if e.at < at]
            if reached:
                top[(incident.pk, at)] = max(reached, key=lambda level: level.number)
        return top


def escalation_levels(incident=None) -> QuerySet[EscalationLevel]:
    """Every level of every ladder, or only those of the ladder `incident` climbs."""
    if incident is None:
        return EscalationLevel.objects.select_related("ladder")
    ladder = ladder_for(incident)
    if ladder is None:
        return EscalationLevel.objects.none()
    return EscalationLevel.objects.filter(ladder=ladder).select_related("ladder")


# --- Duties (rotas that ask to triage or grant permissions on shift) ----------------------------


TRIAGE_PERMISSION = "incidents.triage_incident"


def triage_duty_rotas() -> QuerySet[Rota]:
    return Rota.objects.filter(asks_to_triage=True).order_by("name")


def group_and_duty_permissions(user, at: datetime | None = None) -> set[str]:
    """Permissions ("app_label.codename") `user` has through their groups, and through the duty
    rotas they are on at `at`. One query (the group read Django makes anyway) for someone who
    belongs to no duty rota; members of one also read that rota's turns."""
    at = at or timezone.now()

    def rows(queryset, rota):
        return queryset.order_by().values_list("content_type__app_label", "codename", rota)

    no_rota = Value(None, output_field=BigIntegerField())
    found = rows(Permission.objects.filter(group__user=user), no_rota).union(
        rows(Permission.objects.filter(duty_rotas__members__user=user), "duty_rotas"),
        rows(Permission.objects.filter(duty_rotas__overrides__user=user,
                                       duty_rotas__overrides__starts_at__lte=at,
                                       duty_rotas__overrides__ends_at__gt=at), "duty_rotas"),
        all=True,
    )
    granted: set[str] = set()
    by_rota: dict[int, set[str]] = defaultdict(set)
    for app_label, codename, rota_id in found:
        (granted if rota_id is None else by_rota[rota_id]).add(f"{app_label}.{codename}")
    if by_rota:
        for rota in Rota.objects.filter(pk__in=by_rota):
            on_call = on_call_now(rota, at)
            if on_call is not None and on_call.pk == user.pk:
                granted |= by_rota[rota.pk]
    return granted


def user_permissions(user) -> set[str]:
    """Permissions `user` has at any time: their own and their groups' (no duties). One query,
    not cached on the user (the backend's group cache holds today's duties too)."""
    rows = (Permission.objects.filter(Q(user=user) | Q(group__user=user))
            .values_list("content_type__app_label", "codename").distinct())
    return {f"{app_label}.{codename}" for app_label, codename in rows}


def duty_permission_grants(user) -> dict[int, set[str]]:
    """For each duty rota `user` is on (as a member, or by an override at any time): the
    permissions it grants while it is their turn. One query."""
    grants: dict[int, set[str]] = {}
    rows = (Rota.objects
            .filter(Q(members__user=user) | Q(overrides__user=user),
                    duty_permissions__isnull=False)
            .values_list("pk", "duty_permissions__content_type__app_label",
                         "duty_permissions__codename").distinct())
    for rota_id, app_label, codename in rows:
        grants.setdefault(rota_id, set()).add(f"{app_label}.{codename}")
    return grants


def user_may(user, perm: str, at: datetime | None = None) -> bool:
    """`user.has_perm(perm)` as it stands at `at`: their own and their groups' permissions, or a
    duty they are on at that moment. Not cached: timers ask about moments other than now."""
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    own = ModelBackend()._get_permissions(user, None, "user")
    return perm in own or perm in group_and_duty_permissions(user, at)


def people_who_may_triage(incident, at: datetime | None = None) -> list:
    """Who can triage `incident` now: whoever is on a triage duty and may triage; failing that,
    the people who may at the lowest level of its ladder that has any."""
    at = at or timezone.now()
    on_duty = []
    for rota in triage_duty_rotas():
        person = on_call_now(rota, at)
        if person is not None and person not in on_duty \
                and user_may(person, TRIAGE_PERMISSION, at):
            on_duty.append(person)
    if on_duty:
        return on_duty
    ladder = ladder_for(incident)
    for level in (ladder.levels.order_by("number") if ladder is not None else []):
        able = [p for p in level_people(level, at) if user_may(p, TRIAGE_PERMISSION, at)]
        if able:
            return able
    return []
