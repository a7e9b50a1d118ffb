"""Provider applications' and compliance documents' domain errors."""

from __future__ import annotations

from app.errors import Conflict, DomainError, NotFound


class InvalidApplication(DomainError):
    code = "provider_application_invalid"


class ApplicationNotFound(NotFound):
    code = "provider_application_not_found"


class ApplicationDecided(Conflict):
    code = "provider_application_decided"


class InvalidComplianceDocument(DomainError):
    code = "compliance_document_invalid"


class ComplianceDocumentNotFound(NotFound):
    code = "compliance_document_not_found"


class NotCompliant(Conflict):
    code = "provider_not_compliant"
