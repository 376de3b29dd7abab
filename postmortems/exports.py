"""A published review as Markdown (the layout of seed 003's incident report) and as PDF.

Both render the same `report_data`, so the two files always say the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from xml.sax.saxutils import escape

from django.utils import timezone

from . import roi
from .models import PostMortem, ReportSection
from .selectors import postmortem_roi
from .services import display_name


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    numbered: list[str] = field(default_factory=list)
    checkboxes: list[tuple[bool, str]] = field(default_factory=list)
    when_empty: str = ""  # said instead of nothing (no action items recorded)


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def _timeline_lines(postmortem: PostMortem) -> list[str]:
    """HH:MM lines as in seed 003; the date is added whenever the day changes."""
    lines, day = [], None
    for item in postmortem.timeline.all():
        if not item.included:
            continue
        moment = timezone.localtime(item.occurred_at)
        stamp = moment.strftime("%H:%M")
        if moment.date() != day:
            day = moment.date()
            stamp = moment.strftime("%Y-%m-%d %H:%M")
        lines.append(f"{stamp} - {item.text}")
    return lines


# Firebreak's own layout, used when the procedure sets none: seed 003's incident report plus
# lessons learned, business impact validation (seed 000) and follow-up tasks (seed 001).
DEFAULT_TITLE = "Incident Report - {date}: {reference} {title}"
DEFAULT_LAYOUT = [
    (ReportSection.Part.SUMMARY, "Summary"),
    (ReportSection.Part.TIMELINE, "Timeline"),
    (ReportSection.Part.IMPACT, "Impact"),
    (ReportSection.Part.ROOT_CAUSE, "Root Cause"),
    (ReportSection.Part.RESOLUTION, "Resolution"),
    (ReportSection.Part.PREVENTION, "Prevention"),
    (ReportSection.Part.LESSONS, "Lessons Learned"),
    (ReportSection.Part.BUSINESS_IMPACT, "Business Impact"),
    (ReportSection.Part.ACTION_ITEMS, "Action Items"),
    (ReportSection.Part.FOLLOW_UPS, "Follow-up Tasks"),
]


def report_layout() -> tuple[str, list[tuple[str, str]]]:
    """The report's title pattern and (part, heading) pairs in order, from the procedure."""
    rows = list(ReportSection.objects.filter(is_active=True).values_list("part", "heading"))
    if not rows:
        return DEFAULT_TITLE, DEFAULT_LAYOUT
    title = next((heading for part, heading in rows if part == ReportSection.Part.TITLE),
                 DEFAULT_TITLE)
    return title, [(part, heading) for part, heading in rows if part != ReportSection.Part.TITLE]


def _title(pattern: str, postmortem: PostMortem, started) -> str:
    # Plain replacement, not str.format: a manager's pattern must not reach object attributes.
    values = {"{date}": f"{timezone.localtime(started):%Y-%m-%d}" if started else "—",
              "{reference}": postmortem.incident.reference, "{title}": postmortem.title}
    for placeholder, value in values.items():
        pattern = pattern.replace(placeholder, value)
    return pattern


def report_data(postmortem: PostMortem) -> tuple[str, list[Section]]:
    started = postmortem.started_at or postmortem.incident.detected_at
    pattern, layout = report_layout()
    parts = _report_parts(postmortem, started)
    sections = []
    for part, heading in layout:
        section = parts[part]
        section.heading = heading
        sections.append(section)
    return _title(pattern, postmortem, started), sections


def _report_parts(postmortem: PostMortem, started) -> dict[str, Section]:
    """Every part of the report, each as a section under its default heading."""
    Part = ReportSection.Part
    incident = postmortem.incident
    figures = postmortem_roi(postmortem)
    currency = incident.currency

    summary = Section("Summary", paragraphs=[p for p in [postmortem.summary] if p])
    summary.bullets = [
        f"Date/Time: {_local(started)} to {_local(postmortem.ended_at or incident.resolved_at)}",
        f"Severity: {incident.severity}",
        f"Review: {postmortem.get_state_display()}"
        + (f" on {_local(postmortem.published_at)}" if postmortem.published_at else ""),
        f"Owner: {display_name(postmortem.owner) if postmortem.owner else '—'}",
    ]

    services = ", ".join(s.name for s in postmortem.services_affected.all()) or "—"
    minutes = "—" if figures.duration_hours is None else f"{figures.duration_hours * 60:,.0f}"
    impact = Section("Impact", bullets=[
        f"Users affected: {postmortem.users_affected if postmortem.users_affected is not None else '—'}",
        f"Duration: {minutes} minutes",
        f"Services impacted: {services}",
        f"Revenue lost: {roi.display(figures.revenue_lost)} {currency}",
    ], paragraphs=[p for p in [postmortem.impact_description] if p])

    root_cause = Section("Root Cause", paragraphs=[postmortem.root_cause or "—"])
    if postmortem.contributing_factor_list:
        root_cause.bullets = [f"Contributing factor: {f}" for f in postmortem.contributing_factor_list]
    if postmortem.five_whys:
        root_cause.numbered = [f"Why? {why}" for why in postmortem.five_whys]

    lessons = Section("Lessons Learned", bullets=[
        f"What went well: {postmortem.went_well or '—'}",
        f"What could be improved: {postmortem.could_improve or '—'}",
    ])
    business = Section("Business Impact", bullets=[
        f"Revenue impact before: {roi.display(postmortem.before_revenue_impact)} {currency}/hour; "
        f"after: {roi.display(postmortem.after_revenue_impact)} {currency}/hour",
        f"Customer accessibility before: {roi.display(postmortem.before_customer_access_pct, '%')}; "
        f"after: {roi.display(postmortem.after_customer_access_pct, '%')}",
        f"Error rates before: {postmortem.before_error_rate or '—'}; "
        f"after: {postmortem.after_error_rate or '—'}",
        f"Resolution cost: {roi.display(postmortem.resolution_hours)} h × "
        f"{roi.display(postmortem.hourly_rate)} = {roi.display(figures.resolution_cost)} {currency}",
        f"Revenue restored: {roi.display(figures.restored_per_period)} {currency} "
        f"{PostMortem.RevenuePeriod(figures.period).label}",
        f"Break-even time: {roi.display(figures.break_even_hours)} hours",
        f"ROI: {roi.display(figures.roi_pct, '%')}",
    ])
    actions = Section("Action Items", when_empty="None recorded", checkboxes=[
        (item.state == item.State.DONE,
         f"{item.title} ({item.get_kind_display()}, {item.get_priority_display().lower()} "
         f"priority) - {display_name(item.owner)}, due {item.due_date:%Y-%m-%d}, "
         f"{item.get_state_display().lower()}"
         + (f": {item.wont_do_reason}" if item.wont_do_reason else "")
         + (f" [{item.ticket_url}]" if item.ticket_url else ""))
        for item in postmortem.action_items.all()
    ])
    follow_ups = Section("Follow-up Tasks", checkboxes=[
        (task["done"], task["label"]) for task in postmortem.follow_up_list])

    return {
        Part.SUMMARY: summary,
        Part.TIMELINE: Section("Timeline", bullets=_timeline_lines(postmortem) or ["—"]),
        Part.IMPACT: impact,
        Part.ROOT_CAUSE: root_cause,
        Part.RESOLUTION: Section("Resolution", paragraphs=[postmortem.resolution or "—"]),
        Part.PREVENTION: Section("Prevention", numbered=postmortem.prevention_list,
                                 paragraphs=[] if postmortem.prevention_list else ["—"]),
        Part.LESSONS: lessons,
        Part.BUSINESS_IMPACT: business,
        Part.ACTION_ITEMS: actions,
        Part.FOLLOW_UPS: follow_ups,
    }


def _md(text: str) -> str:
    """People's text with HTML escaped: Markdown passes raw HTML through to whatever renders
    it (a wiki, a ticket), where a typed <script> or <img onerror> would run."""
    return escape(text)


def postmortem_markdown(postmortem: PostMortem) -> str:
    title, sections = report_data(postmortem)
    out = [f"# {_md(title)}", ""]
    for section in sections:
        out += [f"## {_md(section.heading)}", ""]
        for paragraph in section.paragraphs:
            out += [_md(paragraph), ""]
        block = [f"- {_md(b)}" for b in section.bullets]
        block += [f"{n}. {_md(text)}" for n, text in enumerate(section.numbered, 1)]
        block += [f"- [{'x' if done else ' '}] {_md(text)}" for done, text in section.checkboxes]
        if not (section.paragraphs or block) and section.when_empty:
            block = [f"- {section.when_empty}"]
        if block:
            out += block + [""]
    return "\n".join(out).rstrip() + "\n"


def postmortem_pdf(postmortem: PostMortem) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    title, sections = report_data(postmortem)
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=2 * cm,
                            rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm)
    story = [Paragraph(escape(title), styles["Title"])]

    def items(texts, **kwargs):
        return ListFlowable([ListItem(Paragraph(escape(t), styles["BodyText"])) for t in texts],
                            **kwargs)

    for section in sections:
        story.append(Paragraph(escape(section.heading), styles["Heading2"]))
        for paragraph in section.paragraphs:
            for chunk in paragraph.split("\n\n"):
                story.append(Paragraph(escape(chunk).replace("\n", "<br/>"), styles["BodyText"]))
        if section.bullets:
            story.append(items(section.bullets, bulletType="bullet"))
        if section.numbered:
            story.append(items(section.numbered, bulletType="1"))
        if section.checkboxes:
            story.append(items([f"[{'x' if done else ' '}] {text}"
                                for done, text in section.checkboxes], bulletType="bullet",
                               start=""))
        elif section.when_empty and not (section.paragraphs or section.bullets
                                         or section.numbered):
            story.append(Paragraph(escape(section.when_empty), styles["BodyText"]))
        story.append(Spacer(1, 0.3 * cm))
    doc.build(story)
    return buffer.getvalue()
