"""Three months of demo history: finished incidents declared over the last 90 days, each walked
through its life by the services at the moments it happened (`Demo.at`), so declaration,
acknowledgement, triage, mitigation, resolution, timeline, checklist ticks and SLA clocks (met,
or breached when the timers fired first) carry real, ordered times, and the reports' trend
charts, MTTA, MTTR and SLA compliance show something on first start.

Deterministic: the moments come from a random generator seeded with each incident's title, and
count back from the moment of seeding. Idempotent: an incident whose title exists is skipped.
Reviews of the P0/P1 incidents (required before they close) are written and published by
`postmortems/demo.py`, after resolution."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident

RC = Incident.RootCause


@dataclass(frozen=True)
class Past:
    key: str
    title: str
    severity: str
    services: tuple[str, ...]
    days_ago: int
    root_cause: str
    cause: str
    fix: str
    incident_type: str = "technical"
    customer_facing: bool = False
    customers: int | None = None
    revenue_per_hour: int | None = None
    late_ack: bool = False  # acknowledged after the response target: a response breach
    late_fix: bool = False  # resolved after the resolution target: a resolution breach


HISTORY = [
    Past("h-payouts-dup", "Duplicate payouts sent to 37 recipients", "P0",
         ("payments-distribution",), 86, RC.CODE,
         "A retry after a gateway timeout resubmitted a batch that had been accepted.",
         "Batches carry an idempotency key the gateway checks; the 37 payouts were recalled.",
         customer_facing=True, customers=37, revenue_per_hour=2500),
    Past("h-signup-captcha", "Sign-up captcha fails on mobile browsers", "P2",
         ("recipient-registration",), 83, RC.THIRD_PARTY,
         "The captcha provider's new script blocked older mobile browsers.",
         "Pinned the previous script version until the provider fixed it.",
         customer_facing=True, customers=310),
    Past("h-api-tls", "API clients rejected after the certificate renewal", "P1",
         ("api",), 78, RC.CONFIGURATION,
         "The renewed certificate was deployed without its intermediate chain.",
         "Redeployed with the full chain; a check of the chain now runs before each renewal.",
         customer_facing=True, customers=95, revenue_per_hour=800, late_ack=True),
    Past("h-faq-search", "Website search returns no results", "P3", ("public-website",), 74,
         RC.CONFIGURATION, "The search index was rebuilt with an empty language setting.",
         "Rebuilt the index with the language set.", incident_type="process"),
    Past("h-sms-queue", "SMS notifications queued for hours", "P2", ("notifications",), 69,
         RC.CAPACITY, "A marketing campaign filled the shared SMS queue.",
         "Separate queues for transactional and campaign messages.",
         incident_type="infrastructure"),
    Past("h-db-failover", "Payouts paused by a database failover", "P1",
         ("payments-distribution",), 64, RC.DATABASE,
         "The primary database ran out of disk and failed over; the payout job did not retry.",
         "The payout job resumes after a failover; disk alerts fire at 80%.",
         incident_type="infrastructure", customer_facing=True, customers=1200,
         revenue_per_hour=3100, late_fix=True),
    Past("h-webhook-sig", "Partner webhooks fail signature checks", "P2", ("notifications", "api"),
         60, RC.DEPLOYMENT, "Release 2.9 changed the body encoding after signing.",
         "Sign the exact bytes sent; fixed in 2.9.1.", late_ack=True),
    Past("h-onboarding-pdf", "Onboarding letters rendered blank", "P3",
         ("recipient-registration",), 55, RC.CODE,
         "A font missing from the new PDF worker image.", "Font added to the image."),
    Past("h-api-rate", "Partners throttled below their contracted rate", "P2", ("api",), 49,
         RC.CONFIGURATION, "A rate-limit change applied the default tier to every partner.",
         "Restored per-partner tiers; the change now needs a second reviewer.",
         customer_facing=True, customers=12),
    Past("h-bank-cutoff", "Payout batch missed the bank's cut-off time", "P0",
         ("payments-distribution",), 44, RC.THIRD_PARTY,
         "The bank moved its cut-off an hour earlier without notice.",
         "Batch sent through the backup gateway; the cut-off is now read from the bank's "
         "calendar feed.", customer_facing=True, customers=2400, revenue_per_hour=5200),
    Past("h-login-loop", "Login redirects loop for some recipients", "P1",
         ("recipient-registration",), 39, RC.CODE,
         "A cookie change left old session cookies on a different path.",
         "Old cookies are cleared on the next request.", customer_facing=True, customers=260),
    Past("h-status-mails", "Status e-mails sent twice", "P3", ("notifications",), 34, RC.CODE,
         "A worker restart re-sent a batch it had already sent.",
         "Sends are recorded before the batch is acknowledged."),
    Past("h-dns", "Public website unreachable from one ISP", "P2", ("public-website",), 29,
         RC.NETWORK, "A stale DNS record at one ISP after the move to the new CDN.",
         "Lowered TTLs and asked the ISP to flush.", incident_type="infrastructure",
         customer_facing=True, late_fix=True),
    Past("h-export-slow", "Partner export API times out", "P2", ("api",), 24, RC.DATABASE,
         "A missing index after the export table was partitioned.", "Index added per partition."),
    Past("h-iban-check", "Valid IBANs refused at registration", "P1",
         ("recipient-registration",), 19, RC.CODE,
         "The IBAN check used an outdated country length table.",
         "Length table updated from the registry and tested against its examples.",
         customer_facing=True, customers=140, revenue_per_hour=300, late_ack=True),
    Past("h-queue-disk", "Notification workers stopped on a full disk", "P2", ("notifications",),
         13, RC.CAPACITY, "Debug logging left on after an investigation filled the disk.",
         "Log rotation and a disk alert on the workers.", incident_type="infrastructure"),
    Past("h-faq-links", "Broken help links in the payout e-mail", "P3",
         ("public-website", "notifications"), 9, RC.HUMAN,
         "Help pages moved without redirects.", "Redirects added for every moved page.",
         incident_type="process"),
    Past("h-gateway-latency", "Payout confirmations delayed by the gateway", "P1",
         ("payments-distribution",), 6, RC.THIRD_PARTY,
         "The payment gateway degraded during its own maintenance.",
         "Confirmations polled until the gateway recovered; maintenance windows now in the "
         "on-call calendar.", customer_facing=True, customers=700, revenue_per_hour=1500),
]

# (acknowledge within, resolve within) per severity, in minutes: drawn from these ranges;
# a late acknowledgement or fix goes past the severity's target instead.
PACE = {"P0": ((4, 25), (90, 200)), "P1": ((10, 120), (5 * 60, 18 * 60)),
        "P2": ((30, 300), (6 * 60, 3 * 24 * 60)), "P3": ((60, 600), (24 * 60, 6 * 24 * 60))}
OPENED_BY = ("responder", "responder-2")


def _minutes(rng: random.Random, bounds: tuple[int, int]) -> timedelta:
    return timedelta(minutes=rng.randint(*bounds))


def seed_history(demo) -> None:
    for past in HISTORY:
        existing = Incident.objects.filter(title=past.title).first()
        if existing is not None:
            demo.incidents[past.key] = existing
            demo.history.append(past.key)
            continue
        try:
            with transaction.atomic():  # a procedure that refuses a step leaves no half incident
                _live_through(demo, past)
        except ActionRefused as refused:
            demo.log(f"Left out the past incident “{past.title}”: {refused}")


def _live_through(demo, past: Past) -> None:
    rng = random.Random(past.title)
    u = demo.users
    severity = demo.severity(past.severity)
    (ack_bounds, fix_bounds) = PACE[past.severity]
    detected = (demo.now - timedelta(days=past.days_ago)).replace(
        hour=rng.randint(7, 19), minute=rng.randint(0, 59), second=0, microsecond=0)
    declared = detected + timedelta(minutes=rng.randint(2, 25))
    response = severity.response_target or timedelta(hours=1)
    resolution = severity.resolution_target or timedelta(days=1)
    acked = declared + (response + _minutes(rng, (10, 90)) if past.late_ack
                        else min(_minutes(rng, ack_bounds), response * 0.8))
    resolved = detected + (resolution + _minutes(rng, (30, 240)) if past.late_fix
                           else min(_minutes(rng, fix_bounds), resolution * 0.8))
    resolved = max(resolved, acked + timedelta(minutes=30))
    worker = u[OPENED_BY[rng.randrange(2)]]
    fields = {"root_cause_category": past.root_cause,
              "incident_type": demo.incident_type(past.incident_type),
              "is_customer_facing": past.customer_facing}
    if past.customers:
        fields["customers_affected"] = past.customers
    if past.revenue_per_hour:
        fields.update(revenue_impact_per_hour=past.revenue_per_hour, currency="EUR")

    with demo.at(declared):
        incident = services.incident_declare(
            by=worker, title=past.title, severity=severity, detected_at=detected,
            services=[demo.services[s] for s in past.services], **fields)
    with demo.at(acked):
        incident = services.incident_triage(incident, by=u["incident-manager"],
                                            incident_manager=u["incident-manager"])
    with demo.at(acked + (resolved - acked) * 0.2):
        incident = services.incident_investigate(incident, by=worker)
        services.timeline_add_note(incident, by=worker, is_key_event=True,
                                   text=f"Cause found: {past.cause}")
    if past.severity in ("P0", "P1"):
        with demo.at(acked + (resolved - acked) * 0.6):
            incident = services.incident_mitigate(
                incident, by=worker, workaround="Impact contained while the fix is prepared.")
    with demo.at(resolved):
        tick_all(incident, "resolve", by=worker)
        incident = services.incident_resolve(incident, by=worker, summary=past.fix)
    if not severity.postmortem_required:
        with demo.at(resolved + timedelta(days=1, minutes=rng.randint(0, 240))):
            tick_all(incident, "close", by=u["incident-manager"])
            try:
                services.incident_close(incident, by=u["incident-manager"],
                                        reason="Fix verified in production")
            except ActionRefused as refused:
                demo.log(f"Left {incident.reference} resolved: {refused}")
    demo.incidents[past.key] = incident
    demo.history.append(past.key)
    demo.log(f"Declared {incident.reference} {past.title} ({past.severity}, "
             f"{past.days_ago} days ago).")


def tick_all(incident: Incident, transition: str, *, by) -> None:
    from incidents.warroom.services import checklist_item_set_done, open_blocking_items

    for item in open_blocking_items(incident, transition):
        checklist_item_set_done(item, by=by, done=True)
