"""Incident models, one module per concern; import them from here."""

from .procedure import (  # noqa: F401
    CodeNamedManager,
    IncidentRole,
    IncidentRoleAssignment,
    IncidentType,
    RoleRequirement,
)
from .core import (  # noqa: F401
    Incident,
    IncidentQuerySet,
    ReferenceCounter,
    Service,
    SeverityLevel,
    TimelineEntry,
)

from .access import IncidentParticipant  # noqa: F401, E402

# War room (checklists, communications) models are imported below as they are added.
from .checklists import (  # noqa: F401, E402
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    IncidentChecklistItem,
)
from .communications import (  # noqa: F401, E402
    Audience,
    AudienceSubscription,
    CommunicationCadence,
    Contact,
    MessageTemplate,
    StatusUpdate,
)
from .procedure import ProcedureRevision  # noqa: F401, E402
from .submissions import FormSubmission  # noqa: F401, E402
from .exports import ReportExport  # noqa: F401, E402
