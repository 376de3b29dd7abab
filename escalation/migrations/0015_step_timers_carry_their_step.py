"""Pending escalation-step timers set before timers carried what they must do get their step's
level, action and anchor now, so a procedure import that drops the step no longer leaves them
with nothing to do (see escalation.services.policies.step_payload)."""

from django.db import migrations


def fill_payloads(apps, schema_editor):
    Deadline = apps.get_model("escalation", "Deadline")
    EscalationStep = apps.get_model("escalation", "EscalationStep")
    pending = Deadline.objects.filter(kind="escalation.step", fired_at__isnull=True,
                                      cancelled_at__isnull=True)
    timers = [timer for timer in pending.only("pk", "payload") if "level" not in timer.payload]
    steps = EscalationStep.objects.in_bulk({timer.payload.get("step") for timer in timers})
    for timer in timers:
        step = steps.get(timer.payload.get("step"))
        if step is not None:
            timer.payload = {**timer.payload, "level": step.level_id, "action": step.action,
                             "anchor": step.anchor}
    Deadline.objects.bulk_update(timers, ["payload"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0014_policies_unique_among_active")]

    operations = [migrations.RunPython(fill_payloads, migrations.RunPython.noop)]
