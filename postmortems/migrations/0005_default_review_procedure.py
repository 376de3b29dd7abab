"""Default rows reproducing what the code did before the review procedure became data:
seed 004's meeting agenda, seed 001's follow-up tasks (plus seed 002's playbook), and the
reminder offsets (a review 4 hours or a quarter of its window before it is due; an action
item 2 days before, escalated 2 days after). Managers get the permissions to edit them."""

from datetime import timedelta
from decimal import Decimal

from django.db import migrations

# Seed 004 "Post-Mortem Meeting Structure: Meeting Execution (60-90 minutes)".
AGENDA = [
    ("timeline", "Review incident timeline and key decisions", 20),
    ("went_well", "Discuss what went well and what could be improved", 30),
    ("root_causes", "Identify root causes beyond immediate technical issues", 20),
    ("actions", "Plan specific improvement actions with owners and timelines", 20),
    ("follow_up_review", "Schedule follow-up review to assess improvement implementation", 0),
]

# Seed 001 "Follow-up Tasks" plus seed 002's "create a playbook during the post-incident review".
FOLLOW_UPS = [
    ("update_monitoring", "Update monitoring", "monitoring"),
    ("add_tests", "Add tests", "test"),
    ("update_documentation", "Update documentation", "documentation"),
    ("share_learnings", "Share learnings", "process"),
    ("playbook", "Create or update a playbook", "documentation"),
]

# (slug, subject, direction, offset, share of the review window, recipients)
REMINDERS = [
    ("review-reminder", "postmortem", "before", timedelta(hours=4), Decimal("0.25"),
     "owner_and_incident_manager"),
    ("action-item-reminder", "action_item", "before", timedelta(days=2), None, "owner"),
    ("action-item-escalation", "action_item", "after", timedelta(days=2), None,
     "incident_manager_or_managers"),
]


def seed(apps, schema_editor):
    ReviewAgendaItem = apps.get_model("postmortems", "ReviewAgendaItem")
    FollowUpTask = apps.get_model("postmortems", "FollowUpTask")
    ReviewReminder = apps.get_model("postmortems", "ReviewReminder")
    for order, (slug, label, minutes) in enumerate(AGENDA):
        ReviewAgendaItem.objects.get_or_create(
            slug=slug, defaults={"label": label, "minutes": minutes, "order": order})
    for order, (slug, label, kind) in enumerate(FOLLOW_UPS):
        FollowUpTask.objects.get_or_create(
            slug=slug, defaults={"label": label, "kind": kind, "order": order})
    for slug, subject, direction, offset, share, recipients in REMINDERS:
        ReviewReminder.objects.get_or_create(
            slug=slug, defaults={"subject": subject, "direction": direction, "offset": offset,
                                 "window_share": share, "recipients": recipients})

    from incidents.permissions import grant

    grant(apps, {"Manager": [f"postmortems.{action}_{model}"
                             for model in ("reviewagendaitem", "followuptask", "reviewreminder")
                             for action in ("view", "add", "change", "delete")]})


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0004_review_procedure_as_data"),
        ("incidents", "0002_default_severities_and_groups"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
