"""Integration accounts may change an incident's severity: a worse alert joining an open
incident raises it to the severity its auto-triage rule sets. Accounts created before get the
permission here; new ones get it in `integration_prepare`."""

from django.db import migrations


def grant(apps, schema_editor):
    Integration = apps.get_model("intake", "Integration")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label="incidents",
                                           codename="change_incident_severity").first()
    if permission is None:  # a fresh database: the permission is created after migrating
        return
    for integration in Integration.objects.select_related("account"):
        integration.account.user_permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("intake", "0006_rules_in_procedure_files")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
