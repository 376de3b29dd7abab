"""Demo data for post-incident reviews: the review of the resolved P1 "Recipients using SSO
could not log in" (scheduled when it was resolved) in draft, with its summary, root cause,
resolution and lessons written, and three action items: one in progress, one done and one
overdue. The closed P2 needed no review (P2 does not require one). And the published reviews
of the past P0/P1 incidents (incidents/demo_history.py), written at the moments they were.

Everything goes through `postmortems.services`, so history and timers are real. The one
exception: the services refuse a due date in the past (rightly), so the overdue item is
created due today and then moved back a day on the model, with history and its timers
rescheduled through the service. Idempotent: sections are only written while still empty and
action items are looked up by title."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from incidents import services as incident_services
from incidents.demo_history import HISTORY, tick_all
from incidents.errors import ActionRefused
from incidents.models import Incident

from . import services
from .models import ActionItem, PostMortem

PAST_BY_KEY = {past.key: past for past in HISTORY}

ORDER = 30

SECTIONS = [
    # (section, field that must still be empty, author, values)
    ("summary", "summary", "responder", {
        "summary": (
            "Recipients who sign in with SSO could not log in for about a day. The identity "
            "provider rolled over its token-signing key on schedule; we validated tokens against "
            "a pinned copy of the old key, so every SSO login was rejected as having an invalid "
            "signature. Password logins were not affected."
        ),
        "impact_description": (
            "420 recipients could not log in to check payout status or update their bank "
            "details. No payouts were missed and no data was exposed; support received 63 "
            "tickets."
        ),
    }),
    ("analysis", "root_cause", "responder", {
        "root_cause": (
            "Our SSO integration pinned the identity provider's signing certificate in "
            "configuration instead of reading the current keys from the provider's metadata "
            "URL. When the provider rotated its key, valid tokens failed signature checks."
        ),
        "contributing_factors": (
            "The key rollover was announced by e-mail to a mailbox nobody reads\n"
            "Login failures were logged as warnings, so no alert fired\n"
            "The SSO login path had no end-to-end test against the provider's real metadata"
        ),
        "five_whys": [
            "SSO logins failed: token signatures did not verify.",
            "They did not verify: we checked them against the old signing key.",
            "We had the old key: it was pinned in our configuration.",
            "It was pinned: the integration was built before the provider published metadata.",
            "Nobody revisited it: the integration has no owner since the team change in spring.",
        ],
    }),
    ("resolution", "prevention_measures", "responder", {
        "resolution": (
            "The identity provider's signing key rolled over; we now fetch keys from its "
            "metadata URL (cached for an hour, refreshed on an unknown key id) instead of a "
            "pinned copy. Deployed as a hotfix; SSO logins recovered immediately."
        ),
        "prevention_measures": (
            "Fetch signing keys from the provider's metadata URL\n"
            "Alert when SSO login failures exceed 5% of attempts for 10 minutes\n"
            "Route provider announcements to the platform team's shared inbox"
        ),
    }),
    ("lessons", "went_well", "incident-manager", {
        "went_well": (
            "Support spotted the pattern in tickets and declared the incident quickly\n"
            "Password login kept working, so affected recipients had a fallback"
        ),
        "could_improve": (
            "We learned about the outage from support tickets, not from monitoring\n"
            "It took hours to find who knew the SSO integration"
        ),
    }),
]

# (title, owner, days from today, priority, kind, follow-up key, what happens to it)
ACTION_ITEMS = [
    ("Alert when SSO login failures exceed 5% for 10 minutes", "responder", 7,
     ActionItem.Priority.HIGH, ActionItem.Kind.MONITORING, "update_monitoring", "start"),
    ("Add an end-to-end test that logs in with keys from the IdP metadata URL", "responder", 3,
     ActionItem.Priority.HIGH, ActionItem.Kind.TEST, "add_tests", "complete"),
    ("Write a runbook for identity-provider key rollovers", "responder-2", -1,
     ActionItem.Priority.MEDIUM, ActionItem.Kind.DOCUMENTATION, "playbook", "overdue"),
]
FATE_WORDS = {"start": "in progress", "complete": "done", "overdue": "overdue"}


def _fill_sections(demo, postmortem: PostMortem) -> PostMortem:
    for section, guard_field, username, values in SECTIONS:
        # A fresh instance rather than refresh_from_db(): the FSM state field is protected.
        postmortem = PostMortem.objects.select_related("incident").get(pk=postmortem.pk)
        if not postmortem.is_editable or postmortem.waived:
            break
        if getattr(postmortem, guard_field).strip():
            continue  # written already (by the seed or by someone trying the demo)
        postmortem = services.postmortem_update(
            postmortem, by=demo.users[username], section=section, **values)
        demo.log(f"{demo.users[username].get_full_name()} wrote the {section} of the review of "
                 f"{postmortem.incident.reference}.")
    return postmortem


def _backdate(item: ActionItem, *, days: int, by) -> None:
    """Move a new item's due date into the past (the services refuse that, rightly)."""
    item = ActionItem.objects.get(pk=item.pk)
    item.due_date = timezone.localdate() + timedelta(days=days)
    item._history_user = by
    item._change_reason = "Demo data: due date in the past"
    item.save(update_fields=["due_date", "updated_at"])
    services.action_item_schedule_timers(item)


def _add_action_items(demo, postmortem: PostMortem) -> None:
    if postmortem.waived:
        return
    by = demo.users["incident-manager"]
    today = timezone.localdate()
    for title, username, days, priority, kind, follow_up, fate in ACTION_ITEMS:
        if postmortem.action_items.filter(title=title).exists():
            continue
        owner = demo.users[username]
        item = services.action_item_create(
            postmortem, by=by, title=title, owner=owner,
            due_date=today + timedelta(days=max(days, 0)), priority=priority, kind=kind,
            follow_up=follow_up,
        )
        if fate == "start":
            services.action_item_transition(item, "start", by=owner)
        elif fate == "complete":
            services.action_item_transition(item, "complete", by=owner)
        elif fate == "overdue":
            _backdate(item, days=days, by=by)
        demo.log(f"Added action item “{title}” to the review of "
                 f"{postmortem.incident.reference} ({FATE_WORDS[fate]}).")


# --- Reviews of the past incidents (incidents/demo_history.py) -------------------------------


def _history_review(demo, incident, past) -> None:
    """Write, submit and publish the review after resolution (before it is due, mostly), add
    its action items (closed on time where already due, so the demo has exactly one overdue
    item: the SSO one), then close the incident: each step at its own moment, never in the
    future."""
    rng = random.Random(past.title)
    latest = demo.now - timedelta(hours=2)
    postmortem = PostMortem.objects.select_related("incident").get(incident=incident)
    window = ((postmortem.due_at - incident.resolved_at) if postmortem.due_at
              else timedelta(days=3))
    drafted = min(incident.resolved_at + window * rng.uniform(0.3, 0.5), latest)
    # On time, but for the incident whose fix was late too: its review slipped as well.
    published = (postmortem.due_at + timedelta(hours=rng.randint(6, 30))
                 if past.late_fix and postmortem.due_at
                 else incident.resolved_at + window * rng.uniform(0.7, 0.95))
    published = min(max(published, drafted + timedelta(hours=1)), latest)
    owner, reviewer = demo.users["responder"], demo.users["incident-manager"]
    with demo.at(drafted):
        postmortem = services.postmortem_update(
            postmortem, by=owner, section="summary", summary=f"{past.title}. {past.fix}",
            impact_description=(f"{incident.customers_affected:,} recipients affected."
                                if incident.customers_affected else "No recipients affected."))
        postmortem = services.postmortem_update(postmortem, by=owner, section="analysis",
                                                root_cause=past.cause)
        postmortem = services.postmortem_update(postmortem, by=owner, section="resolution",
                                                resolution=past.fix, prevention_measures=past.fix)
        postmortem = services.postmortem_transition(postmortem, "submit", by=owner)
    with demo.at(published):
        postmortem = services.postmortem_transition(postmortem, "publish", by=reviewer)
        items = [services.action_item_create(
            postmortem, by=reviewer, title=f"{title}: {past.title.lower()}"[:200], owner=owner,
            due_date=timezone.localdate() + timedelta(days=days), kind=kind)
            for title, days, kind in (("Runbook", 7, ActionItem.Kind.DOCUMENTATION),
                                      ("Alert", 21, ActionItem.Kind.MONITORING))]
    for item in items:
        done_at = timezone.make_aware(datetime.combine(item.due_date, time(15)))
        done_at = min(done_at - timedelta(days=rng.randint(0, 3)), latest)
        if done_at > published + timedelta(hours=4):
            with demo.at(done_at):
                services.action_item_transition(item, "complete", by=owner)
    with demo.at(min(published + timedelta(hours=3), latest)):
        incident = Incident.objects.get(pk=incident.pk)
        tick_all(incident, "close", by=reviewer)
        try:
            incident_services.incident_close(incident, by=reviewer,
                                              reason="Review published; fix verified")
        except ActionRefused as refused:
            demo.log(f"Left {incident.reference} resolved: {refused}")
    demo.log(f"Published the review of {incident.reference} with its action items.")


def seed_history_reviews(demo) -> None:
    for key in demo.history:
        incident = Incident.objects.get(pk=demo.incidents[key].pk)
        postmortem = PostMortem.objects.filter(incident=incident).first()
        if (postmortem is None or postmortem.waived or incident.resolved_at is None
                or postmortem.state != PostMortem.State.SCHEDULED):
            continue  # none needed, or written already
        try:
            with transaction.atomic():
                _history_review(demo, incident, PAST_BY_KEY[key])
        except ActionRefused as refused:
            demo.log(f"Left the review of {incident.reference} as it was: {refused}")


def seed(demo) -> None:
    seed_history_reviews(demo)
    incident = demo.incidents.get("sso-logins")
    if incident is None:
        return
    postmortem = PostMortem.objects.filter(incident=incident).first()
    if postmortem is None:  # the receivers schedule it on resolve; a manager may have removed it
        return
    postmortem = _fill_sections(demo, postmortem)
    _add_action_items(demo, postmortem)
