"""The demo's catalogue headings and services: categories, and each service's kind, unit, VAT
treatment and description (seeded by app.demo.catalogue)."""

from __future__ import annotations

from marketplace.catalogue.models import ServiceKind, Unit, VatTreatment

# slug, name, description: the catalogue's headings.
CATEGORIES = [
    ("governance", "Governor support and clerking", "Clerking, governor training and advice."),
    (
        "ect",
        "ECT appropriate body",
        "Statutory induction of early career teachers: appropriate body registration and"
        " quality assurance.",
    ),
    ("counselling", "Counselling", "Counsellors for pupils, bought by the day."),
    ("speech-language", "Speech and language therapy", ""),
    ("educational-psychology", "Educational psychology", ""),
    ("supply", "Supply staff", "Cover teachers and support staff through the managed service."),
    ("hr", "HR", "Human resources advice, casework and policies."),
    ("payroll", "Payroll", ""),
    ("insurance", "Insurance", ""),
    ("data-assessment", "Data and assessment", ""),
    ("cpd", "CPD and peer review", ""),
]

# slug, name, kind, category, unit, vat, description
SERVICES = [
    (
        "link-partner-visit",
        "Link-partner visit and report",
        ServiceKind.CORE,
        "cpd",
        Unit.VISIT,
        VatTreatment.EXEMPT,
        "A day with your link partner, followed by a written report.",
    ),
    (
        "peer-review",
        "Peer review",
        ServiceKind.CORE,
        "cpd",
        Unit.DAY,
        VatTreatment.EXEMPT,
        "School-to-school peer review days with trained reviewers.",
    ),
    (
        "governor-support",
        "Governor support package",
        ServiceKind.CORE,
        "governance",
        Unit.PACKAGE,
        VatTreatment.EXEMPT,
        "Governor training, briefings and the helpdesk.",
    ),
    (
        "assessment-data",
        "Assessment and data support",
        ServiceKind.CORE,
        "data-assessment",
        Unit.SESSION,
        VatTreatment.EXEMPT,
        "Sessions with a data adviser on assessment and analysis.",
    ),
    (
        "ect-appropriate-body",
        "ECT appropriate-body registration",
        ServiceKind.TRADED,
        "ect",
        Unit.ECT,
        VatTreatment.EXEMPT,
        "Statutory appropriate-body registration and quality assurance.",
    ),
    (
        "governance-clerking",
        "Governance clerking (9 meetings a year)",
        ServiceKind.TRADED,
        "governance",
        Unit.PACKAGE,
        VatTreatment.STANDARD,
        "A qualified clerk for nine full governing board meetings, agendas and minutes.",
    ),
    (
        "extra-clerked-meeting",
        "Extra clerked meeting",
        ServiceKind.TRADED,
        "governance",
        Unit.MEETING,
        VatTreatment.STANDARD,
        "An additional clerked committee or panel meeting.",
    ),
    (
        "counselling",
        "School counselling",
        ServiceKind.TRADED,
        "counselling",
        Unit.DAY,
        VatTreatment.EXEMPT,
        "A qualified counsellor in school for the day, with clinical supervision.",
    ),
    (
        "speech-language-therapy",
        "Speech and language therapy",
        ServiceKind.TRADED,
        "speech-language",
        Unit.DAY,
        VatTreatment.EXEMPT,
        "HCPC-registered therapist days: assessment, therapy and training for staff.",
    ),
    (
        "educational-psychology",
        "Educational psychology",
        ServiceKind.TRADED,
        "educational-psychology",
        Unit.DAY,
        VatTreatment.EXEMPT,
        "Educational psychologist days for assessment, consultation and EHCP advice.",
    ),
    (
        "supply-teachers",
        "Supply teachers (managed service)",
        ServiceKind.TRADED,
        "supply",
        Unit.DAY,
        VatTreatment.STANDARD,
        "Qualified supply teachers through the managed service.",
    ),
    (
        "hr-advisory",
        "HR advisory service",
        ServiceKind.TRADED,
        "hr",
        Unit.STAFF_HEAD,
        VatTreatment.STANDARD,
        "Casework, policies and an advice line, priced per member of staff a year.",
    ),
    (
        "payroll",
        "Payroll",
        ServiceKind.TRADED,
        "payroll",
        Unit.PAYSLIP,
        VatTreatment.STANDARD,
        "Monthly payroll, pensions returns and year-end, priced per payslip.",
    ),
    (
        "risk-protection",
        "Risk protection (insurance)",
        ServiceKind.TRADED,
        "insurance",
        Unit.PUPIL,
        VatTreatment.EXEMPT,
        "Cover for buildings, liability and staff absence, per pupil a year.",
    ),
]

# What the subscription includes, for the core services.
INCLUDES = {
    "link-partner-visit": "One visit and written report a year for every member school.",
    "peer-review": "Two peer-review days a year.",
    "governor-support": "Clerking advice, model policies and two governor training evenings.",
    "assessment-data": "Termly data analysis and a moderation session for every member school.",
}
