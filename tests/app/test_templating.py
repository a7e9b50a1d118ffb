"""Template helpers drawn in Python for speed draw exactly what they replace."""

from __future__ import annotations

import pytest
from flask import Flask
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import DataRequired

from app.templating import select_field, table_row


class Filters(Form):
    plain = SelectField("Plain", choices=[("", "Any"), ("a", "A & <b>"), ("b", 'Say "b"')])
    required = SelectField(
        "Required", choices=[("1", "One"), ("2", "Two")], validators=[DataRequired()]
    )
    numbers = SelectField("Numbers", choices=[(1, "One"), (2, "Two")], coerce=int)
    grouped = SelectField(
        "Grouped",
        choices=[
            SelectChoice("x", "X", optgroup="Group"),
            SelectChoice("y", "Y", optgroup="Other"),
        ],
    )
    own_attrs = SelectField("Own", choices=[("z", "Z", {"disabled": True})])
    many = SelectMultipleField("Many", choices=[("p", "P"), ("q", "Q")])


@pytest.mark.parametrize(
    "formdata",
    [{}, {"plain": ["a"], "required": ["2"], "numbers": ["2"], "many": ["p", "q"]}],
)
@pytest.mark.parametrize("name", ["plain", "required", "numbers", "grouped", "own_attrs", "many"])
def test_a_select_is_drawn_exactly_as_wtforms_draws_it(name, formdata):
    form = Filters(MultiDict([(k, v) for k, vs in formdata.items() for v in vs]))
    attrs = {"class_": "govuk-select", "required": False, "aria_describedby": "x-hint"}

    assert select_field(form[name], **attrs) == form[name](**attrs)


def test_a_table_row_draws_its_cells_headers_spans_and_attributes():
    row = {
        "cells": [
            "Name <1>",
            {"text": 5, "colspan": 2, "id": "n", "classes": "x"},
            Markup("<a>l</a>"),
            7,
        ],
        "id": "row-1",
        "attrs": {"data-invoice": 7},
    }

    html = table_row(row, (1, 3), first_cell_is_header=True)

    assert html == (
        '\n    <tr class="govuk-table__row" id="row-1" data-invoice="7">'
        '\n      <th scope="row" class="govuk-table__header">Name &lt;1&gt;</th>'
        '\n      <td class="govuk-table__cell govuk-table__cell--numeric x"'
        ' colspan="2" id="n">5</td>'
        '\n      <td class="govuk-table__cell govuk-table__cell--numeric"><a>l</a></td>'
        '\n      <td class="govuk-table__cell">7</td>'
        "\n    </tr>"
    )


def test_the_table_macro_draws_its_rows_through_table_row(app: Flask):
    with app.test_request_context():
        template = app.jinja_env.from_string(
            '{% from "macros/components.html" import table %}'
            "{{ table('Caption', ['A', 'B'], [['x', 1]], numeric_columns=(1,),"
            " foot=['Total', 1]) }}"
        )
        html = template.render()

    assert '<td class="govuk-table__cell govuk-table__cell--numeric">1</td>' in html
    assert '<tfoot class="app-table__total">\n    \n    <tr class="govuk-table__row">' in html
    assert '<th scope="row" class="govuk-table__header">Total</th>' in html
