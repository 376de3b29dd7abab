"""The war room's part of a procedure: checklists, audiences, contacts (people without a
login, with the audiences they hear from), message templates and update cadences.
Subscriptions of user accounts and groups stay in the admin: a procedure file carries no
accounts."""

from incidents.models import (
    Audience,
    AudienceSubscription,
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    CommunicationCadence,
    Contact,
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
    help="Who updates are for; people and groups subscribe to them in the admin, contacts "
         "below.",
))
register(Section(
    name="contacts", model=Contact, key=("email",), order=56, retire_field="is_active",
    # Like services: a preset names the contacts it needs, never retires a team's own.
    prunable=False,
    children=(Children(name="subscriptions", model=AudienceSubscription,
                       key=("audience", "service"), parent_field="contact",
                       exclude=("group",)),),
    help="People without a login (clients, partner teams) who get updates by e-mail only, "
         "and the audiences (optionally per service and from a severity) they hear from.",
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
