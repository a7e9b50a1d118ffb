"""The per-school savings statement of an awarded round, as a PDF."""

from __future__ import annotations

import pytest

from app.money import format_pence
from procurement.rounds.access import awarded_run
from procurement.rounds.answers import run_answer
from procurement.rounds.award import award_run
from procurement.rounds.runs import execute_run, queue_run
from tests.pdf_text import pdf_text
from tests.procurement.rounds.factories import close, pledge


@pytest.fixture
def login(auth):
    def switch(user):
        auth.logout()
        return auth.as_user(user)

    return switch


def award(rw):
    pledge(rw, rw.world.sbm_a, 10)
    pledge(rw, rw.world.sbm_b, 45)
    close(rw)
    run = queue_run(rw.buying_round.id, rw.world.committee)
    execute_run(run.id)
    award_run(rw.buying_round.id, run.id, rw.world.committee)
    return run


def statement_url(rw, school_id: int) -> str:
    return f"/rounds/{rw.buying_round.id}/schools/{school_id}/statement.pdf"


def test_the_statement_shows_what_the_school_pays_buying_alone_and_its_saving(client, login, rw):
    world = rw.world
    login(world.sbm_a)
    assert client.get(statement_url(rw, world.school_a.id)).status_code == 404  # not awarded yet

    award(rw)
    lines = run_answer(awarded_run(rw.buying_round.id), world.school_a.id).lines
    charge = sum(line.charge_pence for line in lines)
    alone = sum(line.basis_pence for line in lines)
    assert 0 < charge < alone

    response = client.get(statement_url(rw, world.school_a.id))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in (
        "Savings statement",
        world.school_a.name,
        rw.buying_round.title,
        f"You pay {format_pence(charge)}",
        f"Buying alone {format_pence(alone)}",
        f"Your saving {format_pence(alone - charge)}",
        lines[0].lot_label,
        "Ealing Learning Partnership",
        "VAT registration number",
    ):
        assert expected in text, expected
    assert world.school_b.name not in text
    page = client.get(f"/rounds/{rw.buying_round.id}/schools/{world.school_a.id}").text
    assert statement_url(rw, world.school_a.id) in page


def test_only_the_school_and_the_partnership_may_print_it(client, login, rw):
    award(rw)
    world = rw.world
    login(world.sbm_a)
    assert client.get(statement_url(rw, world.school_b.id)).status_code == 404
    login(world.committee)
    assert client.get(statement_url(rw, world.school_b.id)).status_code == 200
    login(world.provider_user_a)
    assert client.get(statement_url(rw, world.school_a.id)).status_code == 403
