"""The review's part of a procedure: the meeting agenda, the follow-up tasks, when reviews
and action items remind and escalate, and the layout of the published report."""

from incidents.procedure import Section, register

from .models import FollowUpTask, ReportSection, ReviewAgendaItem, ReviewReminder

register(Section(
    name="review_agenda", model=ReviewAgendaItem, key=("slug",), order=70,
    retire_field="is_active",
    help="The post-mortem meeting's agenda with time boxes (seed 004: 20 / 30 / 20 / 20 min).",
))
register(Section(
    name="follow_up_tasks", model=FollowUpTask, key=("slug",), order=70,
    retire_field="is_active",
    help="Follow-up tasks every review considers, each a kind of action item.",
))
register(Section(
    name="review_reminders", model=ReviewReminder, key=("slug",), order=70,
    retire_field="is_active",
    help="When reviews and action items remind before, or escalate after, they are due.",
))
register(Section(
    name="report_sections", model=ReportSection, key=("part",), order=70,
    retire_field="is_active",
    help="The published review's report: its title and headings, in the document's order "
         "(none: every part under Firebreak's headings).",
))
