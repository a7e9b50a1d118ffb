"""Documents: PDFs of invoices, credit notes and order confirmations; the orders CSV; the
finance code a school gives each service."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import DomainError, refusal_status
from app.models import SCHOOL_ROLES, Role
from app.pdf import pdf_response, render_pdf
from app.security import roles_required
from app.time import london_today
from marketplace.billing import queries as invoices
from marketplace.blueprint import bp
from marketplace.documents import services as documents
from marketplace.documents.codes import suggestion
from marketplace.documents.forms import FinanceCodeForm
from marketplace.orders import access as orders
from marketplace.orders.labels import STATUS_TEXT
from marketplace.orders.models import OrderStatus

SCHOOL = (Role.SBM, Role.HEAD)


@bp.route("/invoices/<int:invoice_id>.pdf", endpoint="invoice_pdf")
@roles_required(*SCHOOL, Role.TRUST, Role.ADMIN, Role.COMMITTEE)
def invoice_pdf(invoice_id: int):
    """The invoice as a PDF on the partnership's paper (a trust's invoice: for the trust and
    the partnership only, as it has every school's lines)."""
    if current_user.role in SCHOOL_ROLES:
        invoice = invoices.get_invoice_for_school(invoice_id, current_user.school_id)
        if invoice.trust_id is not None:
            abort(404)
    elif current_user.role is Role.TRUST:
        if current_user.trust_id is None:
            abort(404)
        invoice = invoices.get_invoice_for_school(invoice_id, None, trust_id=current_user.trust_id)
    else:
        invoice = invoices.get_invoice(invoice_id)
    title = f"Invoice {invoice.reference}"
    data = render_pdf("marketplace/documents/invoice.html", title=title, invoice=invoice)
    return pdf_response(data, f"invoice-{invoice.reference.replace(' ', '-').lower()}.pdf")


@bp.route("/credit-notes/<int:credit_note_id>.pdf", endpoint="credit_note_pdf")
@roles_required(*SCHOOL, Role.ADMIN, Role.COMMITTEE)
def credit_note_pdf(credit_note_id: int):
    """A credit note as a PDF, with the invoice it credits."""
    if current_user.role in SCHOOL_ROLES:
        note = documents.get_credit_note_for_school(credit_note_id, current_user.school_id)
    else:
        note = documents.get_credit_note(credit_note_id)
    reference = note.number or f"Pending {note.id}"
    data = render_pdf(
        "marketplace/documents/credit_note.html", title=f"Credit note {reference}", note=note
    )
    return pdf_response(data, f"credit-note-{reference.replace(' ', '-').lower()}.pdf")


@bp.route("/orders/<int:order_id>/confirmation.pdf", endpoint="order_confirmation_pdf")
@roles_required(*Role)
def order_confirmation_pdf(order_id: int):
    """An order's confirmation (what, when, how much, notice rules) once it is placed."""
    order = orders.get_order_for_user(order_id, current_user)
    if order.status is OrderStatus.DRAFT:
        abort(404)  # a draft is not an order yet: nothing to confirm
    data = render_pdf(
        "marketplace/documents/order_confirmation.html",
        title=f"Order {order.id} confirmation",
        order=order,
        status_text=STATUS_TEXT[order.status],
        invoice=invoices.invoice_for_order(order.id),
        today=london_today(),
    )
    return pdf_response(data, f"order-{order.id}-confirmation.pdf")


@bp.route("/orders.csv", endpoint="orders_csv")
@roles_required(*SCHOOL)
def orders_csv():
    """The school's orders for its finance system, with its finance code for each service."""
    text = documents.export_csv(documents.order_export(current_user.school_id))
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="orders-{london_today().isoformat()}.csv"'
        },
    )


@bp.route("/finance-codes", endpoint="finance_codes")
@roles_required(*SCHOOL)
def finance_codes_page():
    """The school's finance (CFR) code for each service, used in the orders CSV."""
    return render_template(
        "marketplace/documents/finance_codes.html",
        rows=documents.code_rows(current_user.school_id),
    )


@bp.route("/finance-codes/<int:service_id>", methods=["GET", "POST"], endpoint="finance_code_edit")
@roles_required(*SCHOOL)
def finance_code_edit(service_id: int):
    """Give one service the school's finance code."""
    service = documents.get_service(service_id)
    form = FinanceCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            code = documents.set_finance_code(
                current_user.school_id, service.id, form.code.data or "", current_user
            )
        except DomainError as exc:
            status = refusal_status(exc)
            form.code.errors = [*form.code.errors, exc.message]
        else:
            flash(
                f"{service.name} is coded {code}." if code else f"{service.name} has no code now.",
                "success",
            )
            return redirect(url_for("marketplace.finance_codes"))
    elif form.is_submitted():
        status = 400
    else:
        form.code.data = documents.finance_codes(current_user.school_id).get(service.id, "")
    return (
        render_template(
            "marketplace/documents/finance_code_edit.html",
            form=form,
            service=service,
            suggested=suggestion(service.category.slug),
        ),
        status,
    )
