"""The war room's part of a procedure: checklists, audiences, message templates and update
cadences. Contacts and subscriptions name people, so they stay out of the file."""

from incidents.models import (
    Audience,
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    CommunicationCadence,
    MessageTemplate,
)
from incidents.procedure import Children, Section, register

register(Section(
    name="checklist_phases", model=ChecklistPhase, key=("slug",), order=60,
    children=(Children(name="items", model=ChecklistTemplateItem, key=("code",),
                       parent_field="phase"),),
    help="Phases of checklist items with their time windows; templates share them.",
))
register(Section(
    name="checklists", model=ChecklistTemplate, key=("slug",), order=61,
    retire_field="is_active", exclude=("phases",),
    children=(Children(name="phases", model=ChecklistTemplatePhase, key=("phase",),
                       parent_field="template"),),
    help="Which incidents get which phases: per severity, optionally per service.",
))
register(Section(
    name="audiences", model=Audience, key=("slug",), order=55, retire_field="is_active",
    help="Who updates are for; people and contacts subscribe to them in the admin.",
))
register(Section(
    name="cadences", model=CommunicationCadence, key=("slug",), order=60,
    retire_field="is_active",
    help="How often audiences must get a status update, per severity, 24x7 or in business "
         "hours.",
))
register(Section(
    name="message_templates", model=MessageTemplate, key=("name",), order=60,
    retire_field="is_active",
    help="Wording of notifications and status updates, per audience and stage.",
))
