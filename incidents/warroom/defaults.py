"""Default checklists, message templates and update cadences, taken from the procedures in
shared/seeds (the specification). A data migration loads them; managers change them in the admin.

Seed 004 numbers severities P1..P4 where ours are P0..P3 (its "Critical (P1)" is our P0)."""

from datetime import timedelta

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# --- Checklists ---------------------------------------------------------------------------
# Each template: severity, name, description, phases [(name, starts_after, ends_after, items)],
# items as (text, kind, required, blocks).
TASK, GATE, CRITERION = "task", "quality_gate", "success_criterion"


def _tasks(*texts):
    return [(text, TASK, False, "") for text in texts]


REQUIRED_TASKS_SEED_002 = {
    "name": "Required tasks",
    "description": "Seed 002: every severe production issue has at least these tasks; the "
                   "incident cannot be closed while one is open.",
    "phases": [
        ("Required tasks", None, None, [
            ("Fix production issue", TASK, True, "close"),
            ("Release hotfix", TASK, True, "close"),
            ("Schedule post-mortem", TASK, True, "close"),
        ]),
    ],
}

CHECKLIST_TEMPLATES = {
    "P0": [
        {
            "name": "P0 Emergency Response Checklist",
            "description": "Seed 000 \"P0 Emergency Response Checklist\"; windows count from the "
                           "declaration (or from when the severity was raised).",
            "phases": [
                ("Initial Response", timedelta(0), HOUR, _tasks(
                    "Issue reproduced and confirmed",
                    "Business impact quantified (revenue loss per hour)",
                    "Emergency team assembled",
                    "Stakeholders notified",
                    "War room established (if needed)",
                )),
                ("Triage Analysis", HOUR, 2 * HOUR, _tasks(
                    "Root cause identified",
                    "Rollback option evaluated",
                    "Workaround possibility assessed",
                    "Resolution approach determined",
                    "Timeline estimated",
                )),
                ("Resolution Execution", 2 * HOUR, 4 * HOUR, _tasks(
                    "Fix developed and tested",
                    "Code reviewed (if possible)",
                    "Deployment plan confirmed",
                    "Monitoring setup prepared",
                    "Rollback plan ready",
                )),
                ("Deployment & Validation", 4 * HOUR, 6 * HOUR, _tasks(
                    "Fix deployed to production",
                    "Smoke tests completed",
                    "Customer access validated",
                    "Revenue system tested",
                    "Error monitoring active",
                )),
                ("Post-Resolution", 6 * HOUR, 8 * HOUR, _tasks(
                    "Full system validation completed",
                    "Customer communication sent",
                    "Incident documentation created",
                    "Post-mortem scheduled",
                    "Process improvements identified",
                )),
            ],
        },
        {
            "name": "P0 Quality gates and success criteria",
            "description": "Seed 000 \"P0 Emergency Quality Gates\" (before resolving) and "
                           "\"Success Criteria for P0 Resolution\" (before closing).",
            "phases": [
                ("Quality gates", None, None, [
                    ("Minimum viable fix: core functionality restored", GATE, True, "resolve"),
                    ("Smoke test: basic user journeys functional", GATE, True, "resolve"),
                    ("Business validation: revenue systems operational", GATE, True, "resolve"),
                    ("Stability check: no immediate regressions", GATE, True, "resolve"),
                ]),
                ("Success criteria", None, None, [
                    ("Customer access rate: 100%", CRITERION, True, "close"),
                    ("Revenue system functionality: fully operational", CRITERION, True, "close"),
                    ("Core user journeys: 100% success rate", CRITERION, True, "close"),
                    ("System stability: no related errors for 24 hours", CRITERION, True, "close"),
                    ("Business impact: revenue potential fully restored", CRITERION, True,
                     "close"),
                ]),
            ],
        },
        REQUIRED_TASKS_SEED_002,
    ],
    "P1": [
        {
            "name": "P1 Urgent Resolution Protocol",
            "description": "Seed 000 \"P1 - HIGH: Urgent Resolution Protocol\".",
            "phases": [
                ("Initial Response", timedelta(0), 4 * HOUR, _tasks(
                    "Assigned to an owner or senior developer",
                    "Detailed resolution plan created",
                    "Complexity and timeline estimated",
                    "Stakeholder updates scheduled",
                    "Root cause analysed and related systems assessed",
                )),
                ("Resolution Phase", 4 * HOUR, 24 * HOUR, _tasks(
                    "Fix developed with tests",
                    "Code reviewed by a second developer",
                    "Staging environment validated",
                    "Monitoring and alerting set up",
                    "Rollback procedure documented",
                )),
                ("Deployment & Validation", 24 * HOUR, 48 * HOUR, _tasks(
                    "Released to production (gradual rollout)",
                    "Stability monitored for 48 hours",
                    "Business metrics validated",
                    "Customer feedback collected",
                )),
            ],
        },
        {
            # P1 fixes may ship behind a feature flag (seed 001: disable the feature, fix,
            # gradually re-roll out), so the gates are confirmed before closing, not resolving.
            "name": "P1 Standard quality gates",
            "description": "Seed 000 \"P1 Standard Quality Gates\".",
            "phases": [
                ("Quality gates", None, None, [
                    ("Code review: peer review completed", GATE, True, "close"),
                    ("Testing suite: comprehensive tests pass", GATE, True, "close"),
                    ("Integration testing: no system regressions", GATE, True, "close"),
                    ("Performance testing: no performance degradation", GATE, True, "close"),
                    ("Documentation: resolution documented", GATE, True, "close"),
                ]),
            ],
        },
        REQUIRED_TASKS_SEED_002,
    ],
    "P2": [
        {
            "name": "P2 Planned fix",
            "description": "Seeds 000 and 001, P2: triage within a day, fix in the next release.",
            "phases": [
                ("Triage", timedelta(0), DAY, _tasks(
                    "Issue confirmed",
                    "Impact assessed",
                    "Prioritised in the sprint backlog",
                )),
                ("Fix", DAY, 7 * DAY, _tasks(
                    "Fix implemented with tests",
                    "Code review completed",
                    "Included in the next release",
                    "Monitored after deployment",
                )),
            ],
        },
    ],
    "P3": [
        {
            "name": "P3 Backlog",
            "description": "Seed 001, P3: document within a week, schedule as capacity allows.",
            "phases": [
                ("Document", timedelta(0), 7 * DAY, _tasks(
                    "Added to the backlog and tagged",
                    "Effort estimated",
                )),
                ("Schedule", None, None, _tasks("Scheduled into a future sprint")),
            ],
        },
    ],
}

# --- Message templates --------------------------------------------------------------------
# (name, audience, stage, severity code or None, subject, body, source)
MESSAGE_TEMPLATES = [
    (
        "Customers: we are investigating an issue", "customer", "initial", None,
        "Service issue: {{ services }}",
        """Hello,

We are investigating an issue affecting {{ services }} since {{ detected_at }}.

Current status: {{ state }}
Workaround: {{ workaround }}

We will post the next update by {{ next_update }} on {{ status_page_url }}.

Reference: {{ reference }}""",
        "Seed 003 \"Initial Notification\" and seed 001 \"User Communication\", for customers",
    ),
    (
        "Customers: temporary feature adjustment", "customer", "update", None,
        "Update: temporary adjustment to {{ services }}",
        """Hello,

We have temporarily adjusted some features of {{ services }} to ensure optimal performance
and stability. Your settings and data are safe and will continue to work normally.

What this means:
- Workaround: {{ workaround }}
- Your settings are preserved
- No action is required from you

We expect to restore full functionality by {{ resolution_target }}.
Next update: {{ next_update }}.

Thank you for your patience.

Reference: {{ reference }}""",
        "Seed 001 \"User Communication\"",
    ),
    (
        "Customers: service issue resolved", "customer", "resolution", None,
        "Service issue resolved: {{ services }}",
        """Dear customer,

We experienced a temporary service interruption that has been resolved.

- Issue duration: {{ detected_at }} – {{ resolved_at }} ({{ duration }})
- Services affected: {{ services }}
- Resolution: {{ resolution }}
- Prevention: we are reviewing the incident and will take measures to prevent a recurrence.

We apologise for any inconvenience. Your data and account remain secure.

Reference: {{ reference }}""",
        "Seed 000 \"P0 Customer Communication\"",
    ),
    (
        "Stakeholders: initial issue notification", "stakeholders", "initial", None,
        "[{{ severity_name|upper }}] Incident {{ reference }} – {{ title }}",
        """Summary:
- Issue: {{ title }}
- Severity: {{ severity }}
- Impact: {{ impact }}
- Started: {{ detected_at }}
- Current status: {{ state }}

Initial assessment:
- Root cause: {{ root_cause }}
- Estimated resolution: {{ resolution_target }}
- Workaround available: {{ workaround }}
- Customer impact: {{ customers_affected }} customers ({{ customers_affected_pct }})
- Services affected: {{ services }}

Team:
- Incident manager: {{ incident_manager }}
- Communications lead: {{ communications_lead }}

Next steps:
- Next update by {{ next_update }} ({{ update_cadence }})""",
        "Seed 004 \"Initial Issue Notification\"",
    ),
    (
        "Stakeholders: status update", "stakeholders", "update", None,
        "[UPDATE] [{{ severity_code }}] Incident {{ reference }} – {{ state }}",
        """Current status: {{ state }}

Progress update:
- (key developments since the last update)

Technical details:
- Root cause: {{ root_cause }}
- Workaround: {{ workaround }}

Impact assessment:
- Current impact: {{ impact }}
- Business impact: {{ revenue_impact }}
- Services affected: {{ services }}

Timeline:
- Estimated resolution: {{ resolution_target }}
- Next update scheduled: {{ next_update }}

Team:
- Incident manager: {{ incident_manager }}
- Communications lead: {{ communications_lead }}""",
        "Seed 004 \"Status Update Template\"",
    ),
    (
        "Stakeholders: incident resolved", "stakeholders", "resolution", None,
        "[RESOLVED] [{{ severity_code }}] Incident {{ reference }} – {{ title }}",
        """Current status: {{ state }}

- Issue: {{ title }}
- Duration: {{ duration }} (detected {{ detected_at }}, resolved {{ resolved_at }})
- Root cause: {{ root_cause }}
- Resolution: {{ resolution }}
- Impact: {{ impact }}
- Services affected: {{ services }}

A post-incident review will follow. Incident manager: {{ incident_manager }}""",
        "Seed 004 \"Status Update Template\" (resolved)",
    ),
    (
        "Executives: incident briefing", "executives", "initial", None,
        "[{{ severity_code }}] Executive briefing: {{ reference }} {{ title }}",
        """Incident {{ reference }} ({{ severity }}) was declared at {{ declared_at }}.

- Business impact: {{ revenue_impact }}
- Customer impact: {{ customers_affected }} customers ({{ customers_affected_pct }})
- Services affected: {{ services }}
- Status: {{ state }}
- Resolution due by: {{ resolution_target }}
- Incident manager: {{ incident_manager }}

Next briefing by {{ next_update }}.""",
        "Seed 000 \"Impact Assessment\" and seed 004 executive briefings",
    ),
    (
        "Executives: briefing update", "executives", "update", None,
        "[{{ severity_code }}] Executive briefing update: {{ reference }} – {{ state }}",
        """Status: {{ state }}
Business impact: {{ revenue_impact }}
Customer impact: {{ impact }}
Workaround: {{ workaround }}
Estimated resolution: {{ resolution_target }}
Incident manager: {{ incident_manager }}

Next briefing by {{ next_update }}.""",
        "Seed 004 \"Executive briefings every 2 hours\"",
    ),
    (
        "Executives: resolution and business impact summary", "executives", "resolution", None,
        "[{{ severity_code }}-RESOLVED] {{ reference }} {{ title }} – business impact summary",
        """Resolution summary:
- Issue: {{ title }}
- Duration: {{ duration }}
- Business impact: {{ revenue_impact }}
- Customer impact: {{ customers_affected_pct }} of customers affected ({{ customers_affected }})
- Resolution: {{ resolution }}

Next steps:
- Post-mortem review scheduled
- Process improvements identified
- Prevention measures implemented

Incident manager: {{ incident_manager }}""",
        "Seed 000 \"Stakeholder Update Template\"",
    ),
    (
        "Team: P0 critical issue notification", "team", "initial", "P0",
        "[CRITICAL] {{ reference }} {{ title }} – immediate action required",
        """Priority: {{ severity }}
Status: {{ state }}

Issue: {{ title }}
Impact: {{ impact }}
Action taken: {{ workaround }}
ETA: {{ resolution_target }}

Details:
{{ description }}

Next steps:
1. Join the war room: {{ war_room_url }}
2. Work through the P0 emergency response checklist

Contact: {{ incident_manager }} (incident manager)""",
        "Seed 001 \"P0 - Critical Issue Notification\"",
    ),
    (
        "Team: P1 high priority issue notification", "team", "initial", "P1",
        "[HIGH] {{ reference }} {{ title }} – feature affected",
        """Priority: {{ severity }}
Status: {{ state }}

Issue: {{ title }}
Impact: {{ impact }}
Affected services: {{ services }}
ETA: {{ resolution_target }}

Workaround: {{ workaround }}

Updates will be provided {{ update_cadence }}; the next by {{ next_update }}.""",
        "Seed 001 \"P1 - High Priority Issue Notification\"",
    ),
    (
        "Team: incident detected", "team", "initial", None,
        "INCIDENT DETECTED – {{ severity_code }} {{ reference }} {{ title }}",
        """INCIDENT DETECTED – {{ severity_code }}

Service: {{ services }}
Status: {{ state }}
Impact: {{ impact }}
Started: {{ detected_at }}
Next update: {{ next_update }}

War room: {{ war_room_url }}""",
        "Seed 003 \"Initial Notification\"",
    ),
    (
        "Team: incident update", "team", "update", None,
        "INCIDENT UPDATE – {{ reference }} {{ state }}",
        """INCIDENT UPDATE – {{ reference }}

Service: {{ services }}
Status: {{ state }}
Progress: (what changed since the last update)
Workaround: {{ workaround }}
ETA: {{ resolution_target }}
Next update: {{ next_update }}""",
        "Seed 003 \"Update\"",
    ),
    (
        "Team: incident resolved", "team", "resolution", None,
        "INCIDENT RESOLVED – {{ reference }} {{ title }}",
        """INCIDENT RESOLVED – {{ reference }}

Service: {{ services }}
Duration: {{ duration }}
Root cause: {{ root_cause }}
Resolution: {{ resolution }}
Post-mortem: link to follow when available""",
        "Seed 003 \"Resolution\"",
    ),
]

# --- Update cadence -----------------------------------------------------------------------
# (severity code, audience, interval, first update within (from detection) or None,
#  only if customer-facing, note)
CADENCES = [
    ("P0", "stakeholders", 30 * MINUTE, None, False,
     "Seed 004 Critical: status updates every 30 minutes until resolved"),
    ("P0", "executives", 2 * HOUR, None, False, "Seed 004 Critical: executive briefings every 2 hours"),
    ("P0", "customer", HOUR, HOUR, False,
     "Seed 004 Critical: customers within 1 hour of detection; status page every hour"),
    ("P1", "stakeholders", 2 * HOUR, None, False,
     "Seed 004 High: status updates every 2 hours (internal stakeholders at least every 4)"),
    ("P1", "executives", 12 * HOUR, None, False, "Seed 004 High: management briefings twice daily"),
    ("P1", "customer", 4 * HOUR, 4 * HOUR, True,
     "Seed 004 High: customers within 4 hours if customer-facing"),
    ("P2", "stakeholders", DAY, None, False, "Seed 004 Medium: daily status updates"),
    ("P2", "customer", DAY, 48 * HOUR, True,
     "Seed 004 Medium: customers if resolution exceeds 48 hours"),
    ("P3", "stakeholders", 7 * DAY, None, False, "Seed 004 Low: weekly status updates"),
]

# --- Permissions --------------------------------------------------------------------------
RESPONDER = [
    "incidents.view_incidentchecklistitem",
    "incidents.change_incidentchecklistitem",
    "incidents.view_statusupdate",
    "incidents.view_messagetemplate",
]
INCIDENT_MANAGER = RESPONDER + ["incidents.add_statusupdate"]
MANAGER = INCIDENT_MANAGER + [
    f"incidents.{action}_{model}"
    for model in ("checklisttemplate", "checklistphase", "checklisttemplateitem",
                  "messagetemplate", "communicationcadence", "audiencesubscription")
    # Models added later are granted by their own migrations (a migration that ran before
    # they existed cannot name them).
    for action in ("view", "add", "change", "delete")
    if f"incidents.{action}_{model}" not in INCIDENT_MANAGER
]
PRODUCT_MANAGER = ["incidents.view_incidentchecklistitem", "incidents.view_statusupdate"]

GROUPS = {
    "Responder": RESPONDER,
    "Incident manager": INCIDENT_MANAGER,
    "Manager": MANAGER,
    "Product manager": PRODUCT_MANAGER,
}
