"""The public shape of every record: what the API returns and the CLI prints.

Every operation (:mod:`charter.services.operations`) returns one of these pydantic
models; both adapters render them (the CLI's local mode with ``model_dump(mode="json",
by_alias=True)``, the API through FastAPI), so a command prints the same JSON against a
local database or a server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charter.services.views.extra import (
        AlertDetailView,
        AlertPage,
        AlertView,
        ChannelList,
        ChannelView,
        IngestView,
        PolicyDiffView,
        ReferenceView,
        ReproductionView,
        RunbookView,
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

#: Where each view lives. Each module is imported on first use: building pydantic models
#: is a measurable share of a command's start-up, and a command needs only its own views.
_MODULES = {
    "AlertDetailView": "extra",
    "AlertPage": "extra",
    "AlertView": "extra",
    "ChannelList": "extra",
    "ChannelView": "extra",
    "IngestView": "extra",
    "PolicyDiffView": "extra",
    "ReferenceView": "extra",
    "ReproductionView": "extra",
    "RunbookView": "extra",
    "SignalsView": "extra",
    "StatusView": "extra",
    "WhoAmIView": "extra",
    "WindowsView": "extra",
    "ApprovalView": "records",
    "AuditEventView": "records",
    "AuditHeadView": "records",
    "AuditVerifyView": "records",
    "ComponentView": "records",
    "DecisionView": "records",
    "EvidenceView": "records",
    "ExceptionView": "records",
    "GateReportView": "records",
    "NewTokenView": "records",
    "Page": "records",
    "PolicyVersionView": "records",
    "ReleaseView": "records",
    "RouteView": "records",
    "SystemView": "records",
    "UserView": "records",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "AlertDetailView",
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
    "ReproductionView",
    "RouteView",
    "RunbookView",
    "SignalsView",
    "StatusView",
    "SystemView",
    "UserView",
    "WhoAmIView",
    "WindowsView",
]
