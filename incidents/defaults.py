"""Default configuration taken from the procedures in shared/seeds (the specification).

Severity targets: seed 001 "Priority Levels" (response / resolution), matching seed 000's P0 4-hour
and P1 24-hour resolution SLAs; update cadence: seed 004 "Communication Frequency by Severity";
post-mortems: seed 001 "Post-Incident Review" (after any P0 or P1; P0 within 24 hours) and
seed 004 "Post-Mortem Meeting Structure" (within 48 hours). Managers change all of it in the admin."""

from datetime import timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

SEVERITY_LEVELS = [
    {
        "code": "P0",
        "name": "Critical",
        "rank": 0,
        "description": "Production down: complete outage or failure of a critical path "
                       "(payments, registration, data integrity) with no workaround. "
                       "Immediate action; full resources until resolved.",
        "examples": "Production service completely unavailable\nData loss or corruption\n"
                    "Security breach or vulnerability\n"
                    "Complete feature failure affecting all users",
        "response_target": HOUR,
        "resolution_target": 4 * HOUR,
        "update_cadence": 30 * timedelta(minutes=1),
        "clock": "24x7",
        "postmortem_required": True,
        "postmortem_due_within": DAY,
    },
    {
        "code": "P1",
        "name": "High",
        "rank": 1,
        "description": "Major functionality broken or severe degradation of a critical path "
                       "with a limited workaround. Prompt action; resources as necessary.",
        "examples": "Partial service outage\nSignificant performance degradation\n"
                    "Critical feature broken (settings not saving, preview not working)\n"
                    "Affects more than 25% of users",
        "response_target": 4 * HOUR,
        "resolution_target": DAY,
        "update_cadence": 2 * HOUR,
        "clock": "24x7",
        "postmortem_required": True,
        "postmortem_due_within": 2 * DAY,
    },
    {
        "code": "P2",
        "name": "Medium",
        "rank": 2,
        "description": "Minor functionality issues or non-critical features broken, with a "
                       "viable workaround. Scheduled into the regular sprint.",
        "examples": "Non-critical feature broken\nPerformance degradation under 20%\n"
                    "Visual glitches or non-critical console errors\n"
                    "Affects fewer than 25% of users",
        "response_target": DAY,
        "resolution_target": 7 * DAY,
        "update_cadence": DAY,
        "clock": "business_hours",
        "postmortem_required": False,
        "postmortem_due_within": None,
    },
    {
        "code": "P3",
        "name": "Low",
        "rank": 3,
        "description": "Cosmetic issues, documentation errors or enhancement requests. "
                       "Added to the backlog.",
        "examples": "UI polish\nDocumentation updates\nFeature requests\nMinor UX improvements",
        "response_target": 7 * DAY,
        "resolution_target": 30 * DAY,
        "update_cadence": 7 * DAY,
        "clock": "business_hours",
        "postmortem_required": False,
        "postmortem_due_within": None,
    },
]


# Seed 004 "Issue Categories". Security incidents start restricted (issue "Private incidents").
INCIDENT_TYPES = [
    {"code": "technical", "name": "Technical", "order": 0, "is_default": True,
     "description": "Code bugs, system failures, integration problems, performance issues."},
    {"code": "security", "name": "Security", "order": 1, "restricted_by_default": True,
     "description": "Vulnerabilities, breaches, access control problems, compliance violations."},
    {"code": "infrastructure", "name": "Infrastructure", "order": 2,
     "description": "Server problems, network issues, deployment failures, capacity limitations."},
    {"code": "process", "name": "Process", "order": 3,
     "description": "Workflow problems, communication breakdowns, resource constraints."},
    {"code": "business", "name": "Business", "order": 4,
     "description": "Requirements clarification, scope changes, stakeholder conflicts."},
]
