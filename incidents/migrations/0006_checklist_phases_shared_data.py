"""Phases become shared definitions: each template's phases keep their items and windows and
are linked to the template; items that had no phase get one named after their template.
Identical phases of several templates (same name, window and items, e.g. seed 002's required
tasks at P0 and P1) are merged into one shared phase. Every row gets its stable slug."""

from django.db import migrations
from django.utils.text import slugify


def _unique(base: str, taken: set[str], limit: int = 80) -> str:
    base = (slugify(base) or "item")[:limit - 4]
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def forwards(apps, schema_editor):
    ChecklistTemplate = apps.get_model("incidents", "ChecklistTemplate")
    ChecklistPhase = apps.get_model("incidents", "ChecklistPhase")
    ChecklistTemplateItem = apps.get_model("incidents", "ChecklistTemplateItem")
    ChecklistTemplatePhase = apps.get_model("incidents", "ChecklistTemplatePhase")

    template_slugs: set[str] = set()
    for template in ChecklistTemplate.objects.select_related("severity").order_by("id"):
        prefix = f"{template.severity.code}-" if template.severity_id else ""
        name = template.name
        if prefix and name.lower().startswith(prefix.lower().rstrip("-")):
            prefix = ""
        template.slug = _unique(prefix + name, template_slugs)
        template.save(update_fields=["slug"])

    # Items without a phase get one, named after their template.
    for template in ChecklistTemplate.objects.order_by("id"):
        loose = ChecklistTemplateItem.objects.filter(template=template, phase__isnull=True)
        if loose.exists():
            last = ChecklistPhase.objects.filter(template=template).order_by("-order").first()
            phase = ChecklistPhase.objects.create(
                template=template, name=template.name, order=(last.order + 1) if last else 0)
            loose.update(phase=phase)

    def signature(phase):
        items = tuple(ChecklistTemplateItem.objects.filter(phase=phase).order_by("order", "id")
                      .values_list("text", "kind", "is_required", "blocks"))
        return (phase.name, phase.starts_after, phase.ends_after, items)

    phase_slugs: set[str] = set()
    phase_names_seen: set[str] = set()
    shared: dict[tuple, object] = {}
    for phase in ChecklistPhase.objects.select_related("template", "template__severity").order_by(
            "template_id", "order", "id"):
        template = phase.template
        key = signature(phase)
        keeper = shared.get(key)
        if keeper is None:
            shared[key] = phase
            # Same name, different content: the severity tells them apart (p1-initial-response).
            base = phase.name
            if slugify(base) in phase_names_seen and template is not None and template.severity_id:
                base = f"{template.severity.code} {base}"
            phase_names_seen.add(slugify(phase.name))
            phase.slug = _unique(base, phase_slugs)
            phase.save(update_fields=["slug"])
            keeper = phase
        else:
            ChecklistTemplateItem.objects.filter(phase=phase).delete()
        if template is not None:
            ChecklistTemplatePhase.objects.get_or_create(
                template=template, phase=keeper, defaults={"order": phase.order})
        if keeper.pk != phase.pk:
            phase.delete()

    for phase in ChecklistPhase.objects.all():
        codes: set[str] = set()
        for item in ChecklistTemplateItem.objects.filter(phase=phase).order_by("order", "id"):
            item.code = _unique(item.text, codes)
            item.save(update_fields=["code"])

    # Past versions get the slug their row has now (or none, for rows merged away).
    for model_name, field, live in (("ChecklistTemplate", "slug", ChecklistTemplate),
                                    ("ChecklistPhase", "slug", ChecklistPhase),
                                    ("ChecklistTemplateItem", "code", ChecklistTemplateItem)):
        historical = apps.get_model("incidents", f"Historical{model_name}")
        current = dict(live.objects.values_list("id", field))
        for pk in historical.objects.filter(**{f"{field}__isnull": True}).values_list(
                "id", flat=True).distinct():
            historical.objects.filter(id=pk, **{f"{field}__isnull": True}).update(
                **{field: current.get(pk) or ""})


def grant_managers(apps, schema_editor):
    from incidents.permissions import grant

    grant(apps, {"Manager": [f"incidents.{action}_checklisttemplatephase"
                             for action in ("view", "add", "change", "delete")]})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_checklist_phases_shared_step1")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop),
                  migrations.RunPython(grant_managers, migrations.RunPython.noop)]
