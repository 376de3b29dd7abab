"""Demo data for on-call and escalation: members on the default rotas (so "who is on call now"
shows names), one coming shift swap, named people on the escalation levels, the incident
manager's acknowledgement of the P0's escalation, and the manager's summary e-mails.

Rotas, levels and preferences are configuration that managers edit in the admin (there is no
service for them), so they are written as the admin would: through the models, with the
history user and a reason. The acknowledgement goes through `escalation.services`.
Idempotent: every row is looked up before it is created."""

from __future__ import annotations

from django.db.models import F, Max
from django.utils import timezone

from . import notifications, selectors, services
from .models import (
    EscalationEvent,
    EscalationLevel,
    Heartbeat,
    Notification,
    NotificationPreference,
    Rota,
    RotaMember,
    RotaOverride,
)

ORDER = 10

# Rota name -> demo users in rotation order. The two rotas share hand-off time and start date,
# so opposite orders put a different person on each rota every day.
ROTA_MEMBERS = {
    "On-call developer": ["responder", "responder-2"],
    "Daily log checker": ["responder-2", "responder"],
}
SWAP_ROTA = "On-call developer"
SWAP_REASON = "Shift swap: Rita is at a conference"
# Level number -> demo users named on it (L1 calls whoever is on call on its rota).
LEVEL_PEOPLE = {2: ["incident-manager"], 3: ["manager"]}
REASON = "Demo data"


def _save(obj, *, by) -> None:
    obj._history_user = by
    obj._change_reason = REASON
    obj.save()


def seed_rotas(demo) -> None:
    by = demo.users["manager"]
    for name, usernames in ROTA_MEMBERS.items():
        rota = Rota.objects.filter(name=name).first()
        if rota is None:  # a manager renamed or removed it: nothing to fill
            continue
        for username in usernames:
            user = demo.users[username]
            if RotaMember.objects.filter(rota=rota, user=user).exists():
                continue
            last = rota.members.aggregate(last=Max("order"))["last"]
            _save(RotaMember(rota=rota, user=user, order=0 if last is None else last + 1), by=by)
            demo.log(f"Added {user.get_full_name()} to the {name} rota.")


def seed_shift_swap(demo) -> None:
    """Sam covers one of Rita's coming shifts on the on-call developer rota."""
    rota = Rota.objects.filter(name=SWAP_ROTA).first()
    rita, sam = demo.users["responder"], demo.users["responder-2"]
    if rota is None or RotaOverride.objects.filter(rota=rota, reason=SWAP_REASON).exists():
        return
    if not rota.members.filter(user=sam).exists():
        return
    # Rita's first regular shift after the next one, so "then" still shows the rotation and
    # the swap appears under "coming cover".
    shift = selectors.on_call_shift(rota)
    for number in range(14):
        if shift.ends_at is None:
            return
        shift = selectors.on_call_shift(rota, shift.ends_at)
        if number > 0 and shift.override is None and shift.user == rita:
            break
    else:
        return
    _save(RotaOverride(rota=rota, user=sam, starts_at=shift.starts_at, ends_at=shift.ends_at,
                       reason=SWAP_REASON), by=demo.users["manager"])
    demo.log(f"Sam Okafor covers Rita Reyes on {SWAP_ROTA} from "
             f"{timezone.localtime(shift.starts_at):%a %d %b %H:%M}.")


def seed_levels(demo) -> None:
    by = demo.users["manager"]
    for number, usernames in LEVEL_PEOPLE.items():
        level = EscalationLevel.objects.filter(ladder__is_default=True, number=number).first()
        if level is None:
            continue
        for username in usernames:
            user = demo.users[username]
            if level.users.filter(pk=user.pk).exists():
                continue
            level._history_user = by
            level._change_reason = REASON
            level.users.add(user)
            demo.log(f"Named {user.get_full_name()} on L{number} {level.name}.")


def seed_acknowledgement(demo) -> None:
    """The incident manager took the P0's impact escalation to L2 (no reminder follows)."""
    incident = demo.incidents.get("payments-stuck")
    if incident is None or not incident.is_open:
        return
    event = (EscalationEvent.objects
             .filter(incident=incident, source=EscalationEvent.Source.RULE, level__number=2,
                     acknowledged_at__isnull=True)
             .select_related("level").first())
    if event is None:
        return
    services.escalation_acknowledge(event, by=demo.users["incident-manager"])
    demo.log(f"Ivan Ortega acknowledged the escalation of {incident.reference} to L2.")


def seed_preferences(demo) -> None:
    manager = demo.users["manager"]
    if NotificationPreference.objects.filter(user=manager).exists():
        return  # chosen already (by the seed or by Mona): leave it
    notifications.notification_preference_update(
        user=manager, email=True, weekly_summary=True, monthly_summary=True)
    demo.log("Mona Berg gets the weekly and monthly summaries.")


def settle(demo) -> None:
    """What this run's past sent (at the moments the demo went back to, more than an hour
    before the seeding) was delivered back then: marked sent, and read in the portal, when it
    was queued, so a first start does not mail months of old notices. The sweep's record of
    runs at past moments is dropped: beat writes the real one on its first run."""
    past = [moment for moment in demo.moments if moment < demo.ago(hours=1)]
    delivered = Notification.objects.filter(status=Notification.Status.PENDING,
                                            created_at__in=past)
    delivered.filter(channel=Notification.Channel.INAPP).update(read_at=F("created_at"))
    count = delivered.update(status=Notification.Status.SENT, sent_at=F("created_at"))
    if count:
        demo.log(f"Marked {count} notifications of the demo's past as delivered back then.")
    Heartbeat.objects.filter(name="deadlines_sweep", last_run_at__lt=demo.now).delete()


def seed(demo) -> None:
    seed_rotas(demo)
    seed_shift_swap(demo)
    seed_levels(demo)
    seed_acknowledgement(demo)
    seed_preferences(demo)
