"""Duty rotas (seed 002's daily log checker): the rota is chosen by a setting, not by its name;
whoever is on duty is asked to triage and may confirm severity and assign the incident manager
during the shift only; nobody is asked to do what they may not; and an untriaged incident whose
response SLA breaches reaches someone who may triage it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.deadlines import deadlines_sweep
from escalation.models import ImpactRule, Notification, Rota
from incidents import services
from incidents.errors import ActionRefused

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # 10:00 in Amsterdam, after the 09:00 hand-off
TUESDAY = MONDAY + timedelta(days=1)
CHECKER_PERMISSIONS = ["triage_incident", "change_incident_severity", "assign_incident_roles"]


def asked_to_triage() -> set[str]:
    return set(Notification.objects.filter(reason="triage.on_duty", channel="inapp")
               .values_list("recipient__username", flat=True))


@pytest.fixture
def checker_rota(make_user):
    """A duty rota with a name the code has never heard of: Rita on Monday, Sam on Tuesday."""
    Rota.objects.update(asks_to_triage=False)
    rota = Rota.objects.create(name="Log watch", asks_to_triage=True, handoff_time=time(9),
                               shift_length=timedelta(days=1), rotation_start=date(2026, 6, 15))
    rota.duty_permissions.set(Permission.objects.filter(
        content_type__app_label="incidents", codename__in=CHECKER_PERMISSIONS))
    for order, name in enumerate(["rita", "sam"]):
        rota.members.create(user=make_user("Responder", username=name), order=order)
    return rota


def fresh(user):
    """The user as a new request would load it (permission caches empty)."""
    return type(user).objects.get(pk=user.pk)


def test_the_default_daily_log_checker_rota_is_a_duty_by_its_settings():
    rota = Rota.objects.get(slug="daily-log-checker")
    assert rota.asks_to_triage
    assert {p.codename for p in rota.duty_permissions.all()} == set(CHECKER_PERMISSIONS)


def test_seed_002_the_responder_on_duty_confirms_severity_and_assigns_the_incident_manager(
    checker_rota, declare, incident_manager, severities
):
    rita = checker_rota.members.get(order=0).user
    with time_machine.travel(MONDAY, tick=False):
        incident = declare(severity="P2", title="Payments not distributed")
        assert asked_to_triage() == {"rita"}
        body = Notification.objects.get(reason="triage.on_duty", channel="inapp").body
        assert "assign an incident manager" in body and "Log watch" in body
        services.incident_triage(incident, by=fresh(rita), severity=severities["P0"],
                                 incident_manager=incident_manager,
                                 reason="Payment distribution is a critical path")
    incident.refresh_from_db()
    assert (incident.state, incident.severity.code, incident.incident_manager) == \
        ("triaged", "P0", incident_manager)


def test_off_duty_the_same_responder_is_refused_triage(checker_rota, declare, incident_manager):
    rita = checker_rota.members.get(order=0).user
    with time_machine.travel(TUESDAY, tick=False):
        incident = declare(severity="P2")
        assert asked_to_triage() == {"sam"}
        with pytest.raises(ActionRefused, match="permission"):
            services.incident_triage(incident, by=fresh(rita), incident_manager=incident_manager)
        assert fresh(checker_rota.members.get(order=1).user).has_perm("incidents.triage_incident")


def test_someone_on_a_duty_that_may_not_triage_is_not_asked_to(checker_rota, declare):
    checker_rota.duty_permissions.clear()
    with time_machine.travel(MONDAY, tick=False):
        declare(severity="P2")
    assert asked_to_triage() == set()


def test_a_checker_who_may_triage_but_not_assign_is_not_asked_to_assign(checker_rota, declare):
    checker_rota.duty_permissions.remove(Permission.objects.get(codename="assign_incident_roles"))
    with time_machine.travel(MONDAY, tick=False):
        declare(severity="P2")
    body = Notification.objects.get(reason="triage.on_duty", channel="inapp").body
    assert "triage" in body and "assign" not in body


def test_an_untriaged_top_severity_breach_reaches_someone_who_may_triage(
    declare, responder, incident_manager
):
    """Default configuration: the first line (a Responder on call) may not triage; the notice of
    the breached response SLA also goes to the incident managers, who may."""
    ImpactRule.objects.update(is_active=False)
    on_call = Rota.objects.get(slug="on-call-developer")
    on_call.members.create(user=responder, order=0)
    with time_machine.travel(MONDAY, tick=False):
        declare(severity="P0", by=responder)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        deadlines_sweep()
    breached = Notification.objects.filter(reason="sla.response.breached", channel="inapp")
    recipients = {n.recipient.username for n in breached}
    assert incident_manager.username in recipients
    assert responder.username in recipients
    assert "Nobody has triaged" in breached.first().body


def test_a_late_sweep_asks_who_could_triage_when_the_response_was_due_not_when_it_ran(
    checker_rota, declare
):
    """Sam, on duty from Tuesday, declared a P1 on Monday: when its response fell due on Monday
    nobody told could triage, so the notice also went to Monday's checker, Rita, even though
    the sweep only ran on Tuesday, when Sam could."""
    ImpactRule.objects.update(is_active=False)
    sam = checker_rota.members.get(order=1).user
    with time_machine.travel(MONDAY, tick=False):
        declare(severity="P1", by=sam)  # a response due four hours later, on Monday
    with time_machine.travel(TUESDAY, tick=False):
        deadlines_sweep()
    breached = Notification.objects.filter(reason="sla.response.breached", channel="inapp")
    assert {n.recipient.username for n in breached} >= {"rita", "sam"}


def test_managers_may_configure_ladders_and_impact_conditions(manager):
    assert all(manager.has_perm(f"escalation.{action}_{model}")
               for model in ("escalationladder", "impactcondition")
               for action in ("view", "add", "change", "delete"))


def test_someone_on_no_duty_rota_costs_no_extra_permission_query(
    checker_rota, make_user, django_assert_num_queries
):
    """Group and duty permissions are read in one query, as Django reads group permissions."""
    user = make_user("Responder", username="outsider")
    with django_assert_num_queries(2):  # own permissions, groups and duties
        assert not user.has_perm("incidents.triage_incident")


def test_a_duty_granted_by_cover_holds_for_the_override_only(checker_rota, make_user):
    cover = make_user("Responder", username="cover")
    checker_rota.overrides.create(user=cover, starts_at=MONDAY,
                                  ends_at=MONDAY + timedelta(hours=2))
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        assert fresh(cover).has_perm("incidents.triage_incident")
    with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
        assert not fresh(cover).has_perm("incidents.triage_incident")


def test_a_sweep_batch_of_untriaged_breaches_reads_each_persons_permissions_once(
    declare, responder, incident_manager
):
    """Who may triage is asked per person, not per breach: a batch of nine untriaged response
    breaches reads permissions as often as a batch of three, and each reaches the managers."""
    ImpactRule.objects.update(is_active=False)
    Rota.objects.get(slug="on-call-developer").members.create(user=responder, order=0)
    permission_reads = []
    for batch, start in ((3, MONDAY), (9, TUESDAY)):
        with time_machine.travel(start, tick=False):
            made = [declare(severity="P0", by=responder, title=f"Outage {n}")
                    for n in range(batch)]
        with time_machine.travel(start + timedelta(hours=1), tick=False), \
                CaptureQueriesContext(connection) as queries:
            deadlines_sweep()
        permission_reads.append(sum("auth_permission" in q["sql"]
                                    for q in queries.captured_queries))
        breached = Notification.objects.filter(reason="sla.response.breached", channel="inapp",
                                               incident__in=made)
        assert set(breached.values_list("incident", "recipient__username")) >= {
            (incident.pk, incident_manager.username) for incident in made}
    assert 0 < permission_reads[1] <= permission_reads[0], permission_reads
