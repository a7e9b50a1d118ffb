"""Helpers of the all-forms fuzz test: reading a page's POST forms, and a snapshot of every
table (row count and latest `updated_at`) in one query."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import sqlalchemy as sa

from app.extensions import db


class FormReader(HTMLParser):
    """The POST forms of a page: (action, {field name: values as rendered}, file fields)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, list[str]], set[str]]] = []
        self._values: dict[str, list[str]] | None = None
        self._files: set[str] = set()
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._values, self._files = {}, set()
                self.forms.append((a.get("action", ""), self._values, self._files))
            return
        values = self._values
        if values is None:
            return
        if tag == "option" and self._select is not None:
            if self._first_option is None and a.get("value"):
                self._first_option = a["value"]
            if "selected" in a:
                values[self._select].append(a.get("value", ""))
            return
        name = a.get("name")
        if not name:
            return
        kind = a.get("type", "text").lower()
        if tag == "input" and kind == "file":
            self._files.add(name)
        elif tag == "input" and kind in ("checkbox", "radio"):
            values.setdefault(name, [])
            if "checked" in a:
                values[name].append(a.get("value", "on"))
        elif tag in ("input", "button"):
            values.setdefault(name, [a.get("value", "")])
        elif tag == "select":
            self._select, self._first_option = name, None
            values[name] = []
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        values = self._values
        if tag == "form":
            self._values = None
        elif values is None:
            return
        elif tag == "textarea" and self._textarea is not None:
            values[self._textarea] = ["".join(self._text).strip("\n")]
            self._textarea = None
        elif tag == "select" and self._select is not None:
            if not values[self._select] and self._first_option is not None:
                values[self._select] = [self._first_option]
            self._select = None


def read_form(html: str, action: str, own_page: bool) -> tuple[dict[str, list[str]], set[str]]:
    """The fields of the form posting to `action` (on its own page, also an action-less form)."""
    reader = FormReader()
    reader.feed(html)
    for form_action, values, files in reader.forms:
        if form_action.split("?")[0] == action or (own_page and form_action == ""):
            return values, files
    raise LookupError(f"no form posts to {action}")


def snapshot_query() -> sa.Select[Any]:
    columns: list[Any] = []
    for table in db.metadata.sorted_tables:
        columns.append(sa.select(sa.func.count()).select_from(table).scalar_subquery())
        if "updated_at" in table.c:
            columns.append(sa.select(sa.func.max(table.c.updated_at)).scalar_subquery())
    return sa.select(*columns)


def snapshot(connection: sa.Connection, query: sa.Select[Any]) -> dict[str, Any]:
    row = connection.execute(query).one()
    names: list[str] = []
    for table in db.metadata.sorted_tables:
        names.append(table.name)
        if "updated_at" in table.c:
            names.append(f"{table.name}.updated_at")
    return dict(zip(names, row, strict=True))
