"""The public shape of every record: what the API returns and the CLI prints.

Every operation (:mod:`charter.services.operations`) returns one of these pydantic
models; both adapters render them (the CLI's local mode with ``model_dump(mode="json",
by_alias=True)``, the API through FastAPI), so a command prints the same JSON against a
local database or a server.
"""

from charter.services.views.extra import (
    AlertPage,
    AlertView,
    ChannelList,
    ChannelView,
    IngestView,
    PolicyDiffView,
    ReferenceView,
    SignalsView,
    StatusView,
    WhoAmIView,
    WindowsView,
)
from charter.services.views.records import (
    ApprovalView,
    AuditEventView,
    AuditHeadView,
    AuditVerifyView,
    ComponentView,
    DecisionView,
    EvidenceView,
    ExceptionView,
    GateReportView,
    NewTokenView,
    Page,
    PolicyVersionView,
    ReleaseView,
    RouteView,
    SystemView,
    UserView,
)

__all__ = [
    "AlertPage",
    "AlertView",
    "ApprovalView",
    "AuditEventView",
    "AuditHeadView",
    "AuditVerifyView",
    "ChannelList",
    "ChannelView",
    "ComponentView",
    "DecisionView",
    "EvidenceView",
    "ExceptionView",
    "GateReportView",
    "IngestView",
    "NewTokenView",
    "Page",
    "PolicyDiffView",
    "PolicyVersionView",
    "ReferenceView",
    "ReleaseView",
    "RouteView",
    "SignalsView",
    "StatusView",
    "SystemView",
    "UserView",
    "WhoAmIView",
    "WindowsView",
]
