# Each incident's stored SLA outcome, filled from its existing SLA clocks (issue 14). Clocks
# are read in batches along their primary key and each batch commits on its own, so this runs
# on 100,000 incidents without one long transaction. The rule is escalation.models.clock_result
# (copied: a migration must not import the live model's code).

from django.db import migrations, transaction

BATCH = 5_000


def result(target, met_at, breached_at, stopped_at, due_at):
    if breached_at is not None:
        return "breached"
    if not target or stopped_at is not None:  # an immediate response, or stopped
        return "no_sla"
    if met_at is not None:
        return "met" if met_at <= due_at else "breached"
    return None


def fill(apps, schema_editor):
    SlaClock = apps.get_model("escalation", "SlaClock")
    SlaOutcome = apps.get_model("escalation", "SlaOutcome")
    last = 0
    while True:
        rows = list(
            SlaClock.objects.using(schema_editor.connection.alias)
            .filter(pk__gt=last).order_by("pk")
            .values_list("pk", "incident_id", "kind", "target", "met_at", "breached_at",
                         "stopped_at", "due_at")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        by_kind = {}
        for _pk, incident_id, kind, target, met_at, breached_at, stopped_at, due_at in rows:
            by_kind.setdefault(kind, {})[incident_id] = SlaOutcome(
                incident_id=incident_id,
                **{f"{kind}_due_at": due_at,
                   kind: result(target, met_at, breached_at, stopped_at, due_at)})
        with transaction.atomic(using=schema_editor.connection.alias):
            for kind, outcomes in sorted(by_kind.items()):
                SlaOutcome.objects.using(schema_editor.connection.alias).bulk_create(
                    [outcomes[pk] for pk in sorted(outcomes)], update_conflicts=True,
                    unique_fields=["incident"], update_fields=[f"{kind}_due_at", kind])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("escalation", "0016_sla_outcome"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
