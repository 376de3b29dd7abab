"""The review's part of a procedure: the meeting agenda, the follow-up tasks and when
reviews and action items remind and escalate."""

from incidents.procedure import Section, register

from .models import FollowUpTask, ReviewAgendaItem, ReviewReminder

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
