"""The war room's part of a procedure: checklists, message templates and update cadences."""

from incidents.models import (
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    CommunicationCadence,
    MessageTemplate,
)
from incidents.procedure import Children, Section, register

register(Section(
    name="checklists", model=ChecklistTemplate, key=("severity", "name"), order=60,
    retire_field="is_active",
    children=(
        Children(name="phases", model=ChecklistPhase, key=("name",), parent_field="template"),
        Children(name="items", model=ChecklistTemplateItem, key=("text",),
                 parent_field="template"),
    ),
    help="Checklists every incident of a severity gets, with phases and their time windows.",
))
register(Section(
    name="cadences", model=CommunicationCadence, key=("severity", "audience"), order=60,
    retire_field="is_active",
    help="How often each audience must get a status update, per severity.",
))
register(Section(
    name="message_templates", model=MessageTemplate, key=("name",), order=60,
    retire_field="is_active",
    help="Wording of notifications and status updates, per audience and stage.",
))
