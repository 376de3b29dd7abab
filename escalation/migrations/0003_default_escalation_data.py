"""Default SLA calendar, escalation levels, policies, impact rules and rotas, from the seeds.

- Calendar: Mon-Fri 09:00-17:00 Europe/Amsterdam, used by business-hours clocks (P2, P3).
- Levels (seed 004 "Escalation Levels", seed 001 "Escalation Path"): L1 first-line (the
  on-call developer rota), L2 team lead / senior engineer (the Incident manager group), L3
  engineering manager / technical director (the Manager group), L4 executive (filled in by the
  organisation). Response times per severity from seed 004: L2 15 min critical / 1 h high,
  L3 30 min / 2 h, L4 1 h critical; other combinations fall back to the severity's response target.
- Policies (seed 000 "Escalation Procedures" and seed 004 "Time-Based Escalation"):
  P0: 1 h L2 (seed 004 critical), 2 h L3 technical lead + CTO, 3 h L3 external consultant,
      resolution SLA (4 h) missed -> L4 executive, 6 h L4 customer communication;
  P1: 4 h L2 (seed 004 high), 12 h L2 progress review and resource reallocation, 18 h L3
      technical lead intervention, resolution SLA (24 h) missed -> L3 SLA review and timeline
      adjustment, 36 h L4 stakeholder communication;
  P2: 1 business day L2; P3: 3 business days L2 (business-hours clock).
- Impact rules (seed 004 "Impact-Based Escalation"): customer-affecting at once (L2), security at
  once (L3), compliance at once (L3), data integrity within 15 min (L2), revenue within 30 min (L3).
- Rotas "Daily log checker" (seed 002) and "On-call developer" (seed 001), without members.
Managers change all of it in the admin."""

from datetime import date, time, timedelta

from django.db import migrations

from incidents.permissions import grant

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

LEVELS = [
    (1, "First-line support", "On-call developer: acknowledge, classify, basic troubleshooting, "
        "rollback if needed; escalate when the SLA cannot be met.", [], "On-call developer"),
    (2, "Team lead / senior engineer", "Complex debugging and root-cause analysis, coordinates "
        "team members, temporary workarounds, resource reallocation.", ["Incident manager"], None),
    (3, "Engineering manager / technical director", "Architecture and business-impact decisions, "
        "budget, vendors and consultants, legal and compliance, executive communication.",
     ["Manager"], None),
    (4, "Executive leadership (CTO / VP Engineering)", "Major budget, public relations, "
        "legal and regulatory decisions, customer relationships for major incidents.", [], None),
]
RESPONSE_TIMES = [(2, "P0", timedelta(minutes=15)), (2, "P1", HOUR),
                  (3, "P0", timedelta(minutes=30)), (3, "P1", 2 * HOUR), (4, "P0", HOUR)]
START, RESPONSE_BREACH, RESOLUTION_BREACH = "start", "response_breach", "resolution_breach"
POLICIES = {
    "P0": [
        (START, HOUR, 2, "Critical incident unresolved after 1 hour: team lead joins (seed 004)."),
        (START, 2 * HOUR, 3, "No progress after 2 hours: technical lead and CTO (seed 000)."),
        (START, 3 * HOUR, 3, "No resolution after 3 hours: consider an external consultant."),
        (RESOLUTION_BREACH, timedelta(0), 4, "Resolution SLA missed: executive escalation."),
        (START, 6 * HOUR, 4, "Hour 6: customer communication and expectation management."),
    ],
    "P1": [
        (START, 4 * HOUR, 2, "High-priority incident unresolved after 4 hours (seed 004)."),
        (START, 12 * HOUR, 2, "Hour 12: progress review and resource reallocation (seed 000)."),
        (START, 18 * HOUR, 3, "Hour 18: technical lead intervention."),
        (RESOLUTION_BREACH, timedelta(0), 3, "Resolution SLA missed: SLA review and timeline "
                                             "adjustment."),
        (START, 36 * HOUR, 4, "Hour 36: stakeholder communication required."),
    ],
    "P2": [(START, DAY, 2, "Medium incident unresolved after 1 business day (seed 004).")],
    "P3": [(START, 3 * DAY, 2, "Low incident unresolved after 3 business days (seed 004).")],
}
IMPACT_RULES = [
    ("Customer-affecting: escalate at once", "customer_facing", timedelta(0), 2),
    ("Security incident: escalate at once", "security", timedelta(0), 3),
    ("Compliance violation: escalate at once", "compliance", timedelta(0), 3),
    ("Data integrity: escalate within 15 minutes", "data_integrity", timedelta(minutes=15), 2),
    ("Revenue-impacting: escalate within 30 minutes", "revenue", timedelta(minutes=30), 3),
]
ROTAS = [
    ("Daily log checker", "Monitors logs and alerts each day, confirms whether a report is severe "
     "and assigns the incident manager (seed 002)."),
    ("On-call developer", "First-line response: initial response, basic troubleshooting, "
     "rollback if needed (seed 001)."),
]

CONFIG_MODELS = ["businesscalendar", "holiday", "escalationlevel", "levelresponsetime",
                 "escalationpolicy", "escalationstep", "impactrule", "rota", "rotamember",
                 "rotaoverride", "webhookendpoint"]
STAFF_VIEW = ["escalation.escalate_incident", "escalation.view_escalationevent",
              "escalation.view_slaclock", "escalation.view_rota", "escalation.view_rotamember",
              "escalation.view_rotaoverride", "escalation.view_escalationlevel"]
PERMISSIONS = {
    "Responder": STAFF_VIEW,
    "Incident manager": STAFF_VIEW,
    "Manager": STAFF_VIEW + [
        f"escalation.{action}_{model}" for model in CONFIG_MODELS
        for action in ("view", "add", "change", "delete")
    ] + ["escalation.view_notification", "escalation.view_deliveryattempt",
         "escalation.view_heartbeat"],
    "Product manager": ["escalation.view_slaclock", "escalation.view_escalationevent"],
}


def seed(apps, schema_editor):
    get = apps.get_model
    BusinessCalendar = get("escalation", "BusinessCalendar")
    if not BusinessCalendar.objects.filter(is_default=True).exists():
        BusinessCalendar.objects.create(
            name="Office hours (Amsterdam)", time_zone="Europe/Amsterdam", day_start=time(9),
            day_end=time(17), is_default=True,
        )
    rotas = {}
    for name, description in ROTAS:
        rotas[name], _ = get("escalation", "Rota").objects.get_or_create(
            name=name, defaults={"description": description, "time_zone": "Europe/Amsterdam",
                                 "handoff_time": time(9), "shift_length": DAY,
                                 "rotation_start": date(2026, 1, 5)})
    Group = get("auth", "Group")
    levels = {}
    for number, name, description, groups, rota in LEVELS:
        level, created = get("escalation", "EscalationLevel").objects.get_or_create(
            number=number,
            defaults={"name": name, "description": description,
                      "rota": rotas[rota] if rota else None})
        if created:
            level.groups.set(Group.objects.filter(name__in=groups))
        levels[number] = level
    severities = {s.code: s for s in get("incidents", "SeverityLevel").objects.all()}
    for number, code, response_time in RESPONSE_TIMES:
        if code in severities:
            get("escalation", "LevelResponseTime").objects.get_or_create(
                level=levels[number], severity=severities[code],
                defaults={"response_time": response_time})
    for code, steps in POLICIES.items():
        if code not in severities:
            continue
        policy, created = get("escalation", "EscalationPolicy").objects.get_or_create(
            severity=severities[code], defaults={"name": f"{code} escalation path"})
        if created:
            for order, (anchor, delay, number, action) in enumerate(steps, start=1):
                policy.steps.create(order=order, anchor=anchor, delay=delay,
                                    level=levels[number], action=action)
    ImpactRule = get("escalation", "ImpactRule")
    for name, condition, delay, number in IMPACT_RULES:
        if not ImpactRule.objects.filter(condition=condition).exists():
            ImpactRule.objects.create(name=name, condition=condition, delay=delay,
                                      level=levels[number])
    grant(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0002_sla_escalation_rotas"),
        ("incidents", "0002_default_severities_and_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
