"""Default auto-triage rules from seed 001's rollback triggers and priority levels. They are
ordinary rows: managers edit, reorder or switch them off in the admin. Each matches only alerts
that carry the named field (a label, annotation, Grafana value or PagerDuty custom detail)."""

from django.db import migrations

RULES = [
    (10, "Error rate above 5% (seed 001: automatic rollback)", "P0",
     [("error_rate", "gt", "5")]),
    (20, "Critical errors in the last 5 minutes (seed 001: automatic rollback)", "P0",
     [("critical_errors", "gt", "0")]),
    (30, "More than 25% of users affected (seed 001: P1)", "P1",
     [("users_affected_pct", "gt", "25")]),
]


def seed(apps, schema_editor):
    TriageRule = apps.get_model("intake", "TriageRule")
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    for order, name, code, conditions in RULES:
        severity = SeverityLevel.objects.filter(code=code).first()
        if severity is None or TriageRule.objects.filter(name=name).exists():
            continue
        rule = TriageRule.objects.create(order=order, name=name, set_severity=severity)
        for field, operator, value in conditions:
            rule.conditions.create(field=field, operator=operator, value=value)


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0003_incident_text_search_index"),
        ("incidents", "0002_default_severities_and_groups"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
