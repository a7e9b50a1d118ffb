"""Finance codes per service, the orders export for a school's finance system, and loading the
records a school's documents are made from."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.models import User
from app.money import pence_to_pounds_text
from app.time import london_date
from app.use_case import use_case
from marketplace.billing.models import CreditNote, Invoice, InvoiceLine
from marketplace.catalogue.errors import ServiceNotFound
from marketplace.catalogue.models import Service
from marketplace.documents import codes
from marketplace.documents.errors import CreditNoteNotFound, FinanceCodeInvalid
from marketplace.documents.models import ServiceFinanceCode
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import Order, OrderStatus


@dataclass(frozen=True)
class CodeRow:
    service: Service
    code: str
    suggested: tuple[str, str]


def finance_codes(school_id: int) -> dict[int, str]:
    """service id → the school's code for it."""
    rows = db.session.execute(
        sa.select(ServiceFinanceCode.service_id, ServiceFinanceCode.code).where(
            ServiceFinanceCode.school_id == school_id
        )
    )
    return {service_id: code for service_id, code in rows}


def code_rows(school_id: int) -> list[CodeRow]:
    """Every active service with the school's code for it (or none) and the usual CFR code."""
    mine = finance_codes(school_id)
    services = db.session.scalars(
        sa.select(Service).where(Service.active.is_(True)).order_by(Service.name)
    )
    return [
        CodeRow(service, mine.get(service.id, ""), codes.suggestion(service.category.slug))
        for service in services
    ]


def get_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None or not service.active:
        raise ServiceNotFound("There is no such service in the catalogue.")
    return service


@use_case
def set_finance_code(school_id: int, service_id: int, text: str, actor: User) -> str:
    """Give a service the school's finance code (an empty one removes it); the code stored."""
    service = get_service(service_id)
    try:
        code = codes.normalise(text)
    except ValueError as exc:
        raise FinanceCodeInvalid(str(exc), field="code") from None
    row = db.session.scalar(
        sa.select(ServiceFinanceCode).where(
            ServiceFinanceCode.school_id == school_id, ServiceFinanceCode.service_id == service.id
        )
    )
    before = row.code if row is not None else ""
    if code and row is None:
        db.session.add(ServiceFinanceCode(school_id=school_id, service_id=service.id, code=code))
    elif code and row is not None:
        row.code = code
    elif row is not None:
        db.session.delete(row)
    if code != before:
        audit.record(
            actor,
            "service_finance_code",
            f"{school_id}-{service.id}",
            "set" if code else "removed",
            before={"code": before},
            after={"code": code},
            scope=f"school:{school_id}",
        )
    db.session.commit()
    return code


# The orders export ----------------------------------------------------------------------------

CSV_HEADER = [
    "Order",
    "Ordered on",
    "Status",
    "Service",
    "Provider",
    "Term",
    "Quantity",
    "Unit price",
    "Set-up",
    "Net",
    "VAT",
    "Total",
    "Finance code",
    "PO number",
    "Invoice",
]


@dataclass(frozen=True)
class ExportRow:
    order: Order
    ordered_at: datetime
    finance_code: str
    net_pence: int
    vat_pence: int
    invoice_number: str


def order_export(school_id: int) -> list[ExportRow]:
    """The school's orders past draft, oldest first, with VAT and the invoice they are on.

    Net is the order's total; VAT is the invoice line's when invoiced, else none yet (it is
    worked out per line when billed, marketplace.billing.rules)."""
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.school_id == school_id, Order.status != OrderStatus.DRAFT)
        .options(selectinload(Order.service), selectinload(Order.provider))
        .order_by(Order.id)
    ).all()
    lines = {
        line.order_id: line
        for line in db.session.scalars(
            sa.select(InvoiceLine)
            .where(InvoiceLine.order_id.in_([o.id for o in orders]))
            .options(selectinload(InvoiceLine.invoice))
        )
    }
    mine = finance_codes(school_id)
    rows = []
    for order in orders:
        line = lines.get(order.id)
        invoice: Invoice | None = line.invoice if line is not None else None
        rows.append(
            ExportRow(
                order=order,
                ordered_at=order.submitted_at or order.created_at,
                finance_code=mine.get(order.service_id, ""),
                net_pence=order.total_pence,
                vat_pence=line.vat_pence if line is not None else 0,
                invoice_number=invoice.reference if invoice is not None else "",
            )
        )
    return rows


def export_csv(rows: list[ExportRow]) -> str:
    """The orders as CSV, amounts in pounds, dates in London."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        order = row.order
        writer.writerow(
            [
                order.id,
                london_date(row.ordered_at).isoformat(),
                STATUS_TEXT[order.status],
                order.service.name,
                order.provider.name,
                order.term_key,
                order.quantity,
                pence_to_pounds_text(order.unit_price_pence),
                pence_to_pounds_text(order.setup_pence),
                pence_to_pounds_text(row.net_pence),
                pence_to_pounds_text(row.vat_pence),
                pence_to_pounds_text(row.net_pence + row.vat_pence),
                row.finance_code,
                order.po_number,
                row.invoice_number,
            ]
        )
    return out.getvalue()


def get_credit_note_for_school(credit_note_id: int, school_id: int) -> CreditNote:
    """One of the school's credit notes (404 for anyone else's)."""
    note = db.session.scalar(
        sa.select(CreditNote).where(
            CreditNote.id == credit_note_id, CreditNote.school_id == school_id
        )
    )
    if note is None:
        raise CreditNoteNotFound("There is no such credit note.")
    return note


def get_credit_note(credit_note_id: int) -> CreditNote:
    note = db.session.get(CreditNote, credit_note_id)
    if note is None:
        raise CreditNoteNotFound("There is no such credit note.")
    return note
