"""The pipeline's domain errors, each with a stable code and a sentence for people."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotAllowed, NotFound


class PipelineError(DomainError):
    """Bad input to a pipeline use case."""

    code = "pipeline_invalid"


class PipelineNotAllowed(NotAllowed):
    code = "pipeline_not_allowed"


class DecisionActedOn(Conflict):
    """The decision has been acted on (a draft tender or round was made from it)."""

    code = "renewal_decision_acted_on"


class ExternalContractNotFound(NotFound):
    code = "external_contract_not_found"


class PipelineContractNotFound(NotFound):
    code = "pipeline_contract_not_found"
