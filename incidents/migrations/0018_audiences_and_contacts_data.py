"""Audiences become rows: the four the code knew (customers, internal stakeholders,
executives, response team) with what the code did for them (only customers may publish on
the status page; the team audience reaches the incident's roster), plus any other value
found in use. Each cadence gets a slug and its audience as the first of its audiences.
Managers get the permissions to edit audiences and contacts."""

from django.db import migrations

# (slug, name, includes the incident's team, may publish on the status page)
DEFAULT_AUDIENCES = [
    ("customer", "Customers", False, True),
    ("stakeholders", "Internal stakeholders", False, False),
    ("executives", "Executives", False, False),
    ("team", "Response team", True, False),
]


def forwards(apps, schema_editor):
    Audience = apps.get_model("incidents", "Audience")
    for order, (slug, name, team, publish) in enumerate(DEFAULT_AUDIENCES):
        Audience.objects.get_or_create(slug=slug, defaults={
            "name": name, "includes_incident_team": team, "may_publish": publish,
            "order": order})
    in_use = set()
    for model in ("MessageTemplate", "AudienceSubscription", "CommunicationCadence",
                  "StatusUpdate"):
        in_use |= set(apps.get_model("incidents", model).objects.values_list(
            "audience", flat=True).distinct())
    for order, slug in enumerate(sorted(in_use - {slug for slug, *_ in DEFAULT_AUDIENCES})):
        Audience.objects.get_or_create(slug=slug, defaults={
            "name": slug.replace("_", " ").capitalize(), "order": 10 + order})

    Cadence = apps.get_model("incidents", "CommunicationCadence")
    taken = set()
    for cadence in Cadence.objects.select_related("severity").order_by("id"):
        base = f"{cadence.severity.code}-{cadence.audience}".lower()
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        cadence.slug = slug
        cadence.save(update_fields=["slug"])
        cadence.audiences.add(Audience.objects.get(slug=cadence.audience))
    Historical = apps.get_model("incidents", "HistoricalCommunicationCadence")
    current = dict(Cadence.objects.values_list("id", "slug"))
    for pk in Historical.objects.filter(slug__isnull=True).values_list("id", flat=True).distinct():
        Historical.objects.filter(id=pk, slug__isnull=True).update(slug=current.get(pk) or "")

    from incidents.permissions import grant

    grant(apps, {"Manager": [f"incidents.{action}_{model}"
                             for model in ("audience", "contact")
                             for action in ("view", "add", "change", "delete")]})


def backwards(apps, schema_editor):
    """One audience per cadence again: a cadence for several audiences becomes one per audience
    (where the old unique severity x audience allows one, the one asking most often, as the
    war room does); subscriptions of contacts
    alone go, since before this a subscription named a person or a group."""
    Cadence = apps.get_model("incidents", "CommunicationCadence")
    taken = set()
    for cadence in Cadence.objects.prefetch_related("audiences").order_by("interval", "slug"):
        slugs = [a.slug for a in cadence.audiences.all()
                 if (cadence.severity_id, a.slug) not in taken]
        if not slugs:
            cadence.delete()
            continue
        for n, slug in enumerate(slugs):
            taken.add((cadence.severity_id, slug))
            if n:
                cadence.pk, cadence.slug = None, f"{cadence.slug}-{slug}"[:80]
            cadence.audience = slug
            cadence.save()
    Historical = apps.get_model("incidents", "HistoricalCommunicationCadence")
    current = dict(Cadence.objects.values_list("id", "audience"))
    for pk in Historical.objects.values_list("id", flat=True).distinct():
        Historical.objects.filter(id=pk).update(audience=current.get(pk) or "stakeholders")
    Subscription = apps.get_model("incidents", "AudienceSubscription")
    Subscription.objects.filter(user__isnull=True, group__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0017_audiences_and_contacts_step1")]

    operations = [migrations.RunPython(forwards, backwards)]
