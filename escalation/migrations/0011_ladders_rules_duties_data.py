"""Existing configuration moves onto the new data model, behaving as before:

- every escalation level joins one default ladder ("Standard escalation", L1-L4), and every
  policy climbs it;
- policies, impact rules and rotas get slugs (their natural keys in procedure files); steps are
  numbered 1..n per policy so (policy, order) names a step;
- each impact rule's hard-coded condition becomes condition rows that test the same thing:
  customer-facing = the flag or customers affected above zero; security = the flag or the
  security type; revenue = revenue impact above zero; data integrity and compliance = their
  flags;
- the rota that was found by its name in code ("Daily log checker") is now marked as asked to
  triage new incidents, and may, while on duty, triage, change severity and assign roles (the
  seed-002 checker confirms severity and assigns the incident manager)."""

from django.db import migrations
from django.utils.text import slugify

from incidents.permissions import grant

CONDITIONS = {
    "customer_facing": [("is_customer_facing", ""), ("customers_affected", "")],
    "security": [("is_security", ""), ("incident_type", "security")],
    "revenue": [("revenue_impact_per_hour", "")],
    "data_integrity": [("is_data_integrity", "")],
    "compliance": [("is_compliance", "")],
}
NEW_CONFIG_MODELS = ["escalationladder", "impactcondition"]
CHECKER_ROTA = "Daily log checker"
CHECKER_PERMISSIONS = ["triage_incident", "change_incident_severity", "assign_incident_roles"]


def unique_slug(model, text: str, taken: set) -> str:
    base = (slugify(text) or model.__name__.lower())[:50]
    slug, n = base, 2
    while slug in taken or model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def forwards(apps, schema_editor):
    get = apps.get_model
    Ladder = get("escalation", "EscalationLadder")
    Level = get("escalation", "EscalationLevel")
    Policy = get("escalation", "EscalationPolicy")
    Step = get("escalation", "EscalationStep")
    Rule = get("escalation", "ImpactRule")
    Rota = get("escalation", "Rota")

    ladder = Ladder.objects.filter(is_default=True).first() or Ladder.objects.create(
        slug="standard", name="Standard escalation", is_default=True,
        description="First line, team lead, engineering management, executives.")
    Level.objects.filter(ladder__isnull=True).update(ladder=ladder)

    taken: set = set()
    for policy in Policy.objects.select_related("severity").order_by("severity__rank", "pk"):
        policy.ladder_id = policy.ladder_id or ladder.pk
        policy.slug = policy.slug or unique_slug(Policy, policy.name or policy.severity.code,
                                                 taken)
        policy.save(update_fields=["ladder", "slug"])
        steps = list(Step.objects.filter(policy=policy).order_by("order", "delay", "pk"))
        for number, step in enumerate(steps, start=1):
            if step.order != number:
                step.order = number
                step.save(update_fields=["order"])

    taken = set()
    for rule in Rule.objects.order_by("pk"):
        rule.slug = rule.slug or unique_slug(Rule, rule.condition.replace("_", "-")
                                             or rule.name, taken)
        rule.save(update_fields=["slug"])
        for attribute, value in CONDITIONS.get(rule.condition, []):
            rule.conditions.get_or_create(attribute=attribute, value=value)

    taken = set()
    for rota in Rota.objects.order_by("pk"):
        rota.slug = rota.slug or unique_slug(Rota, rota.name, taken)
        rota.save(update_fields=["slug"])

    # History rows written before slugs existed take their object's slug, so the column can
    # become required.
    for live in (Policy, Rule, Rota):
        history = get("escalation", f"Historical{live.__name__}")
        for pk, slug in live.objects.values_list("pk", "slug"):
            history.objects.filter(id=pk, slug__isnull=True).update(slug=slug)
        history.objects.filter(slug__isnull=True).update(slug="deleted")

    # Managers configure the new models as they did levels and rules; staff see the ladders.
    grant(apps, {
        "Manager": [f"escalation.{action}_{model}" for model in NEW_CONFIG_MODELS
                    for action in ("view", "add", "change", "delete")],
        "Responder": ["escalation.view_escalationladder"],
        "Incident manager": ["escalation.view_escalationladder"],
    })
    checker = Rota.objects.filter(name=CHECKER_ROTA).first()
    if checker is not None:
        checker.asks_to_triage = True
        checker.save(update_fields=["asks_to_triage"])
        checker.duty_permissions.add(*get("auth", "Permission").objects.filter(
            content_type__app_label="incidents", codename__in=CHECKER_PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("escalation", "0010_escalation_ladders")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
