from django.db import migrations

from incidents.permissions import grant
from incidents.warroom.defaults import (
    CADENCES,
    CHECKLIST_TEMPLATES,
    GROUPS,
    MESSAGE_TEMPLATES,
)


def seed(apps, schema_editor):
    SeverityLevel = apps.get_model("incidents", "SeverityLevel")
    ChecklistTemplate = apps.get_model("incidents", "ChecklistTemplate")
    ChecklistPhase = apps.get_model("incidents", "ChecklistPhase")
    ChecklistTemplateItem = apps.get_model("incidents", "ChecklistTemplateItem")
    MessageTemplate = apps.get_model("incidents", "MessageTemplate")
    CommunicationCadence = apps.get_model("incidents", "CommunicationCadence")
    severities = {level.code: level for level in SeverityLevel.objects.all()}

    for code, templates in CHECKLIST_TEMPLATES.items():
        severity = severities.get(code)
        if severity is None:
            continue
        for order, spec in enumerate(templates):
            template, created = ChecklistTemplate.objects.get_or_create(
                severity=severity, name=spec["name"],
                defaults={"description": spec["description"], "order": order},
            )
            if not created:
                continue
            position = 0
            for phase_order, (name, starts, ends, items) in enumerate(spec["phases"]):
                phase = ChecklistPhase.objects.create(
                    template=template, name=name, order=phase_order, starts_after=starts,
                    ends_after=ends,
                )
                for text, kind, required, blocks in items:
                    ChecklistTemplateItem.objects.create(
                        template=template, phase=phase, text=text, kind=kind, order=position,
                        is_required=required, blocks=blocks,
                    )
                    position += 1

    for name, audience, stage, code, subject, body, source in MESSAGE_TEMPLATES:
        MessageTemplate.objects.get_or_create(
            name=name,
            defaults={"audience": audience, "stage": stage, "severity": severities.get(code),
                      "subject": subject, "body": body, "source": source},
        )

    for code, audience, interval, first, customer_facing, note in CADENCES:
        severity = severities.get(code)
        if severity is None:
            continue
        CommunicationCadence.objects.get_or_create(
            severity=severity, audience=audience,
            defaults={"interval": interval, "first_update_within": first,
                      "only_if_customer_facing": customer_facing, "note": note},
        )

    grant(apps, GROUPS)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_checklists_and_communications"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
