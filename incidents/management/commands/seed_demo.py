"""Demo data for a first look at the portal: a user per staff group, the services of the seeds'
organisations, and incidents in every stage of their life, all made through the services so
their history and timeline are real.

Running it again changes nothing: each record is looked up before it is created.

Other areas add their own demo data without touching this file: a module named `demo` in any
local app or in one of its sub-packages (e.g. `escalation/demo.py`,
`incidents/warroom/demo.py`) with

    ORDER = 50          # optional; lower runs earlier (the foundation below is 0)

    def seed(demo):     # demo.users["incident-manager"], demo.services["payments"],
        ...             # demo.incidents["payments-stuck"], demo.log("...")

is found and run after the foundation, inside the same transaction. Seeders must be idempotent
too: look records up before creating them. A module may also define `settle(demo)`, run after
every seeder (e.g. to mark what the demo's past sent as delivered back then).

Demo incidents have a history: seeders run the services at the moments things happened with
`with demo.at(moment):` (time-machine, never later than the seeding), so every timestamp the
services write is real and ordered; the timers due by then fire first, as the sweep would have
fired them. `incidents/demo_history.py` adds three months of finished incidents that way."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.demo_history import seed_history
from incidents.errors import ActionRefused
from incidents.models import Incident, IncidentType, Service, SeverityLevel

DEMO_PASSWORD = "firebreak-demo"

# username, group, first name, last name, is_staff
DEMO_USERS = [
    ("responder", "Responder", "Rita", "Reyes", False),
    ("responder-2", "Responder", "Sam", "Okafor", False),
    ("incident-manager", "Incident manager", "Ivan", "Ortega", False),
    ("manager", "Manager", "Mona", "Berg", True),
    ("product-manager", "Product manager", "Paula", "Price", False),
]
SUPERUSER = ("admin", "Ada", "Admin")

# slug, name, critical path, public, description
DEMO_SERVICES = [
    ("payments-distribution", "Payments distribution", True, True,
     "Pays out to recipients through the bank and PSP gateways."),
    ("recipient-registration", "Recipient registration", True, True,
     "Sign-up, identity checks and onboarding of new recipients."),
    ("public-website", "Public website", False, True, "Marketing site, FAQ and help pages."),
    ("api", "API", False, True, "The public REST API used by partners and the mobile apps."),
    ("notifications", "Notifications", False, False,
     "E-mail, SMS and webhook delivery to recipients and partners."),
]


@dataclass
class Demo:
    """What seeders share: the demo users and services by key, and the demo incidents."""

    users: dict[str, User] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # keys of the past incidents, oldest first
    log: Callable[[str], None] = print
    now: datetime = field(default_factory=timezone.now)
    moments: set[datetime] = field(default_factory=set)  # where `at` went, this run

    def ago(self, **delta) -> datetime:
        """A moment before the seeding started, e.g. demo.ago(minutes=35)."""
        return self.now - timedelta(**delta)

    @contextmanager
    def at(self, moment: datetime):
        """Run the block as if it were `moment` (never later than the seeding): the services
        stamp their own times, so a demo incident's history is real. The timers due by then
        fire first, as the sweep would have fired them (an SLA missed before a late
        acknowledgement is recorded as breached at its due time)."""
        import time_machine  # demo seeding only: the portal itself never travels in time

        if moment > self.now:
            raise ValueError(f"A demo moment in the future: {moment:%Y-%m-%d %H:%M}.")
        self.moments.add(moment)
        with time_machine.travel(moment, tick=False):
            _fire_due_timers(moment)
            yield

    def severity(self, code: str) -> SeverityLevel:
        """The active level named `code`; demo incidents name levels P0 (most severe) to P3,
        so under a procedure with other names (seed 002's Sev1-Sev4, seed 004's P1-P4) P0
        means its most severe active level, P1 the next, and so on (the last one at most)."""
        level = SeverityLevel.objects.active().filter(code=code).first()
        if level is None or self.procedure_renames_levels():
            ranked = list(SeverityLevel.objects.active().order_by("rank"))
            level = ranked[min(int(code.removeprefix("P")), len(ranked) - 1)]
        return level

    def procedure_renames_levels(self) -> bool:
        return not SeverityLevel.objects.active().filter(code="P0").exists()

    def incident_type(self, code: str) -> IncidentType:
        """The active type `code`, or the default type where the procedure has no such type."""
        found = IncidentType.objects.filter(code=code, is_active=True).first()
        return found or IncidentType.objects.get(pk=IncidentType.default_pk())


def _fire_due_timers(moment: datetime) -> None:
    """The deadline sweep at `moment`, when the escalation app (which owns the timers) is
    installed; the command sits above every app, so it may ask for it."""
    if apps.is_installed("escalation"):
        from escalation.deadlines import deadlines_sweep

        deadlines_sweep(now=moment)


# --- Foundation -----------------------------------------------------------------------------


def _tick_required_items(incident: Incident, transition: str, *, by) -> None:
    """Tick the checklist items the active procedure requires before `transition`, as the
    team would have, so every preset's demo incidents reach the states they show."""
    from incidents.warroom.services import checklist_item_set_done, open_blocking_items

    for item in open_blocking_items(incident, transition):
        checklist_item_set_done(item, by=by, done=True)


def seed_users(demo: Demo) -> None:
    for username, group_name, first, last, is_staff in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "is_staff": is_staff,
                      "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            demo.log(f"Created user {username} ({group_name}).")
        user.groups.add(Group.objects.get(name=group_name))
        # Fresh instance: the permission cache must see the group just added.
        demo.users[username] = User.objects.get(pk=user.pk)

    username, first, last = SUPERUSER
    admin = User.objects.filter(username=username).first()
    if admin is None:
        admin = User.objects.create_superuser(
            username=username, email=f"{username}@example.com", password=DEMO_PASSWORD,
            first_name=first, last_name=last,
        )
        demo.log(f"Created superuser {username}.")
    demo.users[username] = admin


def seed_services(demo: Demo) -> None:
    for slug, name, critical, public, description in DEMO_SERVICES:
        service, created = Service.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "is_critical_path": critical, "is_public": public,
                      "description": description},
        )
        if created:
            demo.log(f"Created service {name}.")
        demo.services[slug] = service


def _declare(demo: Demo, key: str, *, title: str, severity: str, services_: list[str],
             detected_minutes_ago: int, declared_minutes_ago: int, by: str = "responder",
             **fields) -> Incident | None:
    """Declare a demo incident unless one with this title exists; None when it already did."""
    existing = Incident.objects.filter(title=title).first()
    if existing is not None:
        demo.incidents[key] = existing
        return None
    with demo.at(demo.ago(minutes=declared_minutes_ago)):
        incident = services.incident_declare(
            by=demo.users[by], title=title, severity=demo.severity(severity),
            services=[demo.services[s] for s in services_],
            detected_at=demo.ago(minutes=detected_minutes_ago),
            **fields,
        )
    demo.incidents[key] = incident
    demo.log(f"Declared {incident.reference} {title} ({severity}).")
    return incident


def _triage(demo: Demo, incident: Incident, *, manager: str = "incident-manager") -> Incident:
    im = demo.users[manager]
    return services.incident_triage(incident, by=im, incident_manager=im)


def seed_incidents(demo: Demo) -> None:
    """The incidents of today and the last few days, each step at the moment it happened
    (minutes before the seeding), so the pages' ages, MTTA and MTTR agree."""
    u = demo.users
    im, manager = u["incident-manager"], u["manager"]

    # P0 in the middle of the fight: firefighting mode is on while it is open.
    incident = _declare(
        demo, "payments-stuck",
        title="Payments distribution batch stuck at the bank gateway",
        description="The 10:00 payout batch has not left the bank gateway; recipients are "
                    "not being paid. Gateway returns timeouts on every submission.",
        severity="P0", services_=["payments-distribution"], detected_minutes_ago=35,
        declared_minutes_ago=32,
        incident_type=demo.incident_type("technical"), is_customer_facing=True,
    )
    if incident:
        with demo.at(demo.ago(minutes=28)):
            incident = _triage(demo, incident)
            services.incident_assign_role(incident, by=im, role="communications_lead",
                                          user=manager, reason="Stakeholder updates every 30 min")
        with demo.at(demo.ago(minutes=26)):
            services.incident_set_responder(incident, by=u["responder"], user=u["responder"],
                                            joined=True)
            services.incident_set_responder(incident, by=u["responder-2"], user=u["responder-2"],
                                            joined=True)
            incident = services.incident_investigate(incident, by=u["responder"])
        with demo.at(demo.ago(minutes=20)):
            services.incident_update_impact(
                incident, by=im, customers_affected=1840, customers_affected_pct=Decimal("12.5"),
                revenue_impact_per_hour=Decimal("4200"), currency="EUR",
                reason="Count from the batch report",
            )
        with demo.at(demo.ago(minutes=8)):
            services.timeline_add_note(
                incident, by=u["responder"], is_key_event=True,
                text="Gateway certificate was rotated just before the batch; submissions fail "
                     "TLS since.",
                occurred_at=demo.ago(minutes=10),
            )

    # P1 with a workaround in place.
    incident = _declare(
        demo, "registration-mails",
        title="Recipient registration e-mails delayed by up to two hours",
        severity="P1", services_=["recipient-registration", "notifications"],
        detected_minutes_ago=180, declared_minutes_ago=172, is_customer_facing=True,
    )
    if incident:
        with demo.at(demo.ago(minutes=150)):
            incident = _triage(demo, incident)
        with demo.at(demo.ago(minutes=140)):
            incident = services.incident_investigate(incident, by=u["responder-2"])
        with demo.at(demo.ago(minutes=75)):
            services.incident_mitigate(
                incident, by=u["responder-2"],
                workaround="Verification codes are shown on screen while the mail queue drains.",
            )

    # P2 just triaged.
    incident = _declare(
        demo, "api-latency", title="API search endpoints respond in over 2 seconds",
        severity="P2", services_=["api"], detected_minutes_ago=60, declared_minutes_ago=52,
        incident_type=demo.incident_type("infrastructure"),
    )
    if incident:
        with demo.at(demo.ago(minutes=40)):
            _triage(demo, incident)

    # P3 waiting for triage.
    _declare(
        demo, "faq-outdated", title="Public website FAQ shows last year's payout dates",
        severity="P3", services_=["public-website"], detected_minutes_ago=20,
        declared_minutes_ago=17, incident_type=demo.incident_type("process"), by="responder-2",
    )

    # P1 resolved, waiting for its review before it can be closed.
    incident = _declare(
        demo, "sso-logins", title="Recipients using SSO could not log in",
        severity="P1", services_=["recipient-registration"], detected_minutes_ago=26 * 60,
        declared_minutes_ago=26 * 60 - 12,
        is_customer_facing=True, is_security=True, incident_type=demo.incident_type("security"),
        root_cause_category=Incident.RootCause.AUTH, customers_affected=420,
    )
    if incident:
        with demo.at(demo.ago(minutes=25 * 60)):
            incident = _triage(demo, incident)
        with demo.at(demo.ago(minutes=24 * 60 + 30)):
            incident = services.incident_investigate(incident, by=u["responder"])
        with demo.at(demo.ago(minutes=7 * 60)):
            _tick_required_items(incident, "resolve", by=u["responder"])
            services.incident_resolve(
                incident, by=u["responder"],
                summary="The identity provider's signing key rolled over; we now fetch keys "
                        "from its metadata URL instead of a pinned copy.",
            )

    # P2 resolved and closed.
    incident = _declare(
        demo, "webhooks-500", title="Partner webhooks returned 500 after the 14:00 deploy",
        severity="P2", services_=["notifications", "api"], detected_minutes_ago=3 * 24 * 60,
        declared_minutes_ago=3 * 24 * 60 - 9, root_cause_category=Incident.RootCause.DEPLOYMENT,
    )
    if incident:
        with demo.at(demo.ago(minutes=3 * 24 * 60 - 35)):
            incident = _triage(demo, incident)
        with demo.at(demo.ago(minutes=3 * 24 * 60 - 70)):
            incident = services.incident_mitigate(
                incident, by=u["responder"], workaround="Rolled back to the previous release.")
        with demo.at(demo.ago(minutes=2 * 24 * 60 + 18 * 60)):
            _tick_required_items(incident, "resolve", by=u["responder"])
            incident = services.incident_resolve(
                incident, by=u["responder"],
                summary="A missing migration in release 2.14 broke the webhook serializer; "
                        "fixed in 2.14.1 with a deploy check for pending migrations.",
            )
        with demo.at(demo.ago(minutes=24 * 60 + 16 * 60)):
            _tick_required_items(incident, "close", by=im)
            try:
                services.incident_close(incident, by=im, reason="Fix verified for 24 hours")
            except ActionRefused as refused:  # e.g. a procedure that wants its review first
                demo.log(f"Left {incident.reference} resolved: {refused}")

    # Early-state exits: a duplicate and a cancelled false alarm.
    incident = _declare(
        demo, "gateway-timeout-alert", title="Alert: bank gateway timeouts",
        severity="P1", services_=["payments-distribution"], detected_minutes_ago=30,
        declared_minutes_ago=30, by="responder-2",
    )
    if incident:
        with demo.at(demo.ago(minutes=27)):
            services.incident_mark_duplicate(incident, by=im,
                                             duplicate_of=demo.incidents["payments-stuck"])
    incident = _declare(
        demo, "load-test", title="Traffic spike on the API (load test)",
        severity="P2", services_=["api"], detected_minutes_ago=5 * 60, declared_minutes_ago=296,
    )
    if incident:
        with demo.at(demo.ago(minutes=280)):
            services.incident_cancel(
                incident, by=im, reason="Planned load test by the platform team, not an incident")


def seed_foundation(demo: Demo) -> None:
    seed_users(demo)
    seed_services(demo)
    seed_history(demo)  # oldest first, so references follow declaration order
    seed_incidents(demo)


# --- Other areas' seeders -------------------------------------------------------------------


def discover_seeders(hook: str = "seed") -> list[Callable[[Demo], None]]:
    """`seed` (or another `hook`, such as `settle`, run after every seeder) of every `demo`
    module in the local apps and their direct sub-packages."""
    found = []
    for app_config in apps.get_app_configs():
        if not str(app_config.path).startswith(str(settings.BASE_DIR)):
            continue
        packages = [app_config.name]
        packages += [f"{app_config.name}.{info.name}"
                     for info in pkgutil.iter_modules([app_config.path]) if info.ispkg]
        for package in packages:
            module_name = f"{package}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            if callable(getattr(module, hook, None)):
                found.append((getattr(module, "ORDER", 100), module_name, getattr(module, hook)))
    return [seed for _, _, seed in sorted(found, key=lambda item: item[:2])]


class Command(BaseCommand):
    help = "Create demo users, services and incidents (idempotent). Refused when DEBUG is off, except in the local portal of ./firebreak start."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even when DEBUG is off (never on a real deployment).")

    def handle(self, *args, force: bool = False, verbosity: int = 1, **options):
        if not (settings.DEBUG or settings.FIREBREAK_LOCAL) and not force:
            raise CommandError(
                "DEBUG is off outside the local portal (FIREBREAK_LOCAL), so this looks like a "
                "real deployment; demo users with a known "
                "password would be a hole. Use --force if you really mean it."
            )
        log = self.stdout.write if verbosity else (lambda message: None)
        demo = Demo(log=log)
        with transaction.atomic():
            seed_foundation(demo)
            for seed in discover_seeders():
                seed(demo)
            for settle in discover_seeders("settle"):
                settle(demo)
        if verbosity:
            self.print_logins()

    def print_logins(self) -> None:
        width = max(len(name) for name, *_ in DEMO_USERS)
        lines = ["Demo logins (password for all: " + DEMO_PASSWORD + "):"]
        for username, group, *_ in DEMO_USERS:
            lines.append(f"  {username.ljust(width)}  {group}")
        lines.append(f"  {SUPERUSER[0].ljust(width)}  superuser (admin site)")
        self.stdout.write("\n".join(lines))
