"""Preview the shared layout, macros and error pages without the project's app.

A small Flask app of its own (it borrows only the charts' layout, app.dashboards.charts)
renders the sample pages in templates/_preview/ (which use
templates/base.html and templates/macros/) and templates/errors/ with sample context, so the
look can be checked while the real app is being written. Run `npm run build` first (the
pages link app/static/dist/).

    .venv/bin/python scripts/preview_templates.py serve [--port 5050]
    .venv/bin/python scripts/preview_templates.py screenshot [--out /tmp/pooled-preview]
    .venv/bin/python scripts/preview_templates.py check

`screenshot` drives Debian's /usr/bin/chromium through Playwright and saves full-page PNGs
at desktop and phone widths (and one page with JavaScript off). `check` and `screenshot`
fail if a page has duplicate ids, an in-page link to a missing id, a failed asset request
or a JavaScript error.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, abort, flash, render_template, request
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.file import FileField
from jinja2 import StrictUndefined
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import make_server
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, NumberRange

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for app.dashboards.charts, the charts' layout (pure Python)
PARTNERSHIP = "Ealing Learning Partnership"
SCHOOLS_CSV = Path("/work/shared/data/schools/ealing_schools_67.csv")


@dataclass
class PreviewUser:
    """A signed-in user for the preview (what base.html reads from current_user)."""

    email: str
    role: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        """Flask-Login's id."""
        return self.email


@dataclass
class _Told:
    """Stands in for the app's DomainError: an error with a message for people."""

    message: str


db = SQLAlchemy()


class School(db.Model):
    """A school, only to feed a real db.paginate() result to the pagination macro."""

    __tablename__ = "schools"
    urn: sa.orm.Mapped[int] = sa.orm.mapped_column(primary_key=True)
    name: sa.orm.Mapped[str]
    postcode: sa.orm.Mapped[str]


class OrderForm(FlaskForm):
    """A form with one of each field type the macros render."""

    service = SelectField(
        "Service",
        choices=[("", "Choose a service"), ("counselling", "Counselling"), ("payroll", "Payroll")],
        validators=[DataRequired("Select a service")],
    )
    quantity = IntegerField(
        "How many days?",
        validators=[
            InputRequired("Enter how many days"),
            NumberRange(min=1, message="Enter at least 1 day"),
        ],
    )
    budget = DecimalField(
        "Budget for this order",
        description="In pounds, including VAT",
        validators=[InputRequired("Enter the budget, like 1200 or 1200.50")],
    )
    po_number = StringField("Purchase order (PO) number", description="Optional")
    contact_email = EmailField(
        "Contact email",
        validators=[
            DataRequired("Enter a contact email"),
            Email("Enter an email address in the correct format, like name@school.org.uk"),
        ],
    )
    start_on = DateField(
        "Start date",
        description="For example, 1 9 2025",
        validators=[DataRequired("Enter a start date")],
    )
    term = RadioField(
        "Which term?",
        choices=[("autumn", "Autumn term"), ("spring", "Spring term"), ("summer", "Summer term")],
        validators=[DataRequired("Select a term")],
    )
    sites = SelectMultipleField(
        "Which sites?",
        description="Select all that apply",
        choices=[("main", "Main site"), ("annex", "Annex"), ("nursery", "Nursery")],
        validators=[DataRequired("Select at least one site")],
    )
    notes = TextAreaField("Notes for the provider", description="Do not include pupils' names.")
    attachment = FileField("Supporting document", description="A CSV or PDF file, up to 5 MB")
    confirm = BooleanField(
        "I have budget approval for this order",
        validators=[DataRequired("Confirm you have budget approval")],
    )


class LoginForm(FlaskForm):
    """The sign-in form."""

    email = EmailField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


NAV = [
    ("home.home", "Home"),
    ("preview.form", "Order"),
    ("preview.dashboard", "Dashboard"),
    ("preview.confirmation", "Contracts"),
]


def nav_for(endpoint: str) -> list[dict]:
    """The service navigation, with the current page marked."""
    from flask import url_for

    return [{"text": text, "href": url_for(ep), "active": ep == endpoint} for ep, text in NAV]


def signed_in() -> dict:
    """Context for a signed-in SBM of the partnership."""
    return {
        "current_user": PreviewUser("sbm@demo.pooled.test", "sbm"),
        "partnership_name": PARTNERSHIP,
        "nav_items": nav_for(request.endpoint or ""),
    }


def sample_schools() -> list[tuple[int, str, str]]:
    """The real Ealing schools (or made-up ones when the data file is absent)."""
    if SCHOOLS_CSV.exists():
        with SCHOOLS_CSV.open(encoding="utf-8") as handle:
            return [
                (int(r["URN"]), r["EstablishmentName"], r["Postcode"])
                for r in csv.DictReader(handle)
            ]
    return [(100000 + i, f"School {i}", "W5 1AA") for i in range(67)]


SPEND = [
    ("Supply staff managed service", 412_350_00),
    ("Counselling", 186_900_00),
    ("Speech and language therapy", 121_480_00),
    ("Payroll and HR", 98_200_00),
    ("Insurance", 64_300_00),
    ("Governor clerking", 23_750_00),
    ("Catering equipment maintenance and deep cleaning across all school kitchens", 8_120_00),
]


def create_preview_app() -> Flask:
    """Build the preview app: real templates, sample context, stand-in endpoints."""
    app = Flask(
        __name__,
        static_folder=str(ROOT / "app" / "static"),
        static_url_path="/static",
        template_folder=str(ROOT / "templates"),  # the sample pages are in templates/_preview/
    )
    app.config.update(
        SECRET_KEY=secrets.token_hex(16),
        SQLALCHEMY_DATABASE_URI="sqlite://",
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
    )
    # Strict: a typo in a macro fails the preview instead of rendering an empty string.
    app.jinja_env.undefined = StrictUndefined
    CSRFProtect(app)
    login = LoginManager(app)
    login.user_loader(lambda _id: None)
    db.init_app(app)
    with app.app_context():
        db.create_all()
        db.session.add_all(School(urn=u, name=n, postcode=p) for u, n, p in sample_schools())
        db.session.commit()

    main = Blueprint("home", __name__)
    auth = Blueprint("auth", __name__)
    preview = Blueprint("preview", __name__, url_prefix="/preview")

    @main.route("/")
    def home() -> str:
        """The signed-in home page with flashed messages."""
        flash("Your order PO-1042 has been sent to the provider.", "success")
        flash("Your school's pupil count for 2025/26 is still to be confirmed.", "info")
        return render_template("_preview/home.html", **signed_in())

    @auth.route("/sign-in", methods=["GET", "POST"])
    def login() -> str:
        """The sign-in page, anonymous; POST shows the errors."""
        form = LoginForm()
        extra = []
        if request.method == "POST" and form.validate_on_submit():
            extra = ["Email address or password is not right"]
        return render_template(
            "_preview/login.html", form=form, extra_errors=extra, partnership_name=PARTNERSHIP
        )

    @auth.route("/sign-out", methods=["POST"])
    def logout() -> Response:
        """Stand-in for the real sign-out."""
        return Response("signed out", mimetype="text/plain")

    @preview.route("/order", methods=["GET", "POST"])
    def form() -> str:
        """Every form macro; ?errors=1 validates an empty submission."""
        form = OrderForm(meta={"csrf": request.method == "POST"})
        extra = []
        if request.args.get("errors"):
            form.validate()
            extra = [{"text": "Counselling has no capacity left this term", "href": "#term"}]
        elif request.method == "POST" and form.validate_on_submit():
            flash("Order sent.", "success")
        return render_template("_preview/form.html", form=form, extra_errors=extra, **signed_in())

    @preview.route("/dashboard")
    def dashboard() -> str:
        """Charts, tables and a real db.paginate() result."""
        from app.dashboards import charts

        page = db.paginate(
            sa.select(School).order_by(School.name),
            page=request.args.get("page", 2, type=int),
            per_page=8,
        )
        return render_template(
            "_preview/dashboard.html",
            charts={
                "income": charts.stacked_bar_chart(
                    "Income by stream",
                    ["Subscriptions", "Traded services", "Council match", "Grants"],
                    [
                        ("2023/24", [760_000_00, 210_400_00, 380_000_00, 25_000_00]),
                        ("2024/25", [790_500_00, 268_900_00, 395_250_00, 40_000_00]),
                        ("2025/26", [812_000_00, 301_200_00, 406_000_00, 0]),
                    ],
                    value_format="pounds",
                    id="income",
                ),
                "spend": charts.bar_chart(
                    "Spend by category, 2025/26",
                    [charts.Datum(label, pence) for label, pence in SPEND],
                    value_format="pounds",
                    id="spend",
                    label_heading="Category",
                    value_heading="Spend",
                ),
                "savings": charts.bar_chart(
                    "Savings against buying alone",
                    [
                        charts.Datum("Counselling days, autumn 2025", 18_240, "£18,240 (9.8%)"),
                        charts.Datum("Payroll tender 2025", 42_100, "£42,100 (12.0%)"),
                        charts.Datum("Supply staff round 3", 96_800, "£96,800 (6.2%)"),
                        charts.Datum("Insurance renewal", -1_200, "−£1,200 (cost more)"),
                    ],
                    id="savings",
                    label_heading="Buying round",
                    value_heading="Saved",
                ),
                "empty": charts.bar_chart("Nothing yet", [], id="empty"),
            },
            page=page,
            page_rows=[[s.urn, s.name, s.postcode] for s in page.items],
            **signed_in(),
        )

    @preview.route("/spend.csv")
    def spend_csv() -> Response:
        """The CSV behind the spend chart."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["Category", "Spend (pence)"])
        writer.writerows(SPEND)
        return Response(out.getvalue(), mimetype="text/csv")

    @preview.route("/confirmation")
    def confirmation() -> str:
        """Panel, inset, banner and back link."""
        return render_template("_preview/confirmation.html", **signed_in())

    @preview.route("/error/<int:code>")
    def error(code: int) -> tuple[str, int]:
        """An error page rendered with no partnership, no nav and an anonymous user."""
        if code not in (400, 403, 404, 429, 500):
            abort(404)
        return render_template(f"errors/{code}.html"), code

    app.register_blueprint(main)
    app.register_blueprint(auth)
    app.register_blueprint(preview)
    return app


PAGES = [
    ("home", "/"),
    ("sign-in", "/sign-in"),
    ("order", "/preview/order"),
    ("order-errors", "/preview/order?errors=1"),
    ("dashboard", "/preview/dashboard"),
    ("confirmation", "/preview/confirmation"),
    *[(f"error-{code}", f"/preview/error/{code}") for code in (400, 403, 404, 429, 500)],
]


class _IdCollector(HTMLParser):
    """Collects element ids to find duplicates."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.fragments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.extend(value for name, value in attrs if name == "id" and value)
        self.fragments.extend(
            value[1:]
            for name, value in attrs
            if name == "href" and value and value.startswith("#") and len(value) > 1
        )


def check_html(name: str, html: str) -> list[str]:
    """Problems in one rendered page (duplicate ids, missing landmarks)."""
    parser = _IdCollector()
    parser.feed(html)
    problems = [
        f"{name}: duplicate id {i!r}"
        for i in sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    ]
    problems += [f"{name}: link to missing #{f}" for f in parser.fragments if f not in parser.ids]
    for needle in ('id="main-content"', "govuk-skip-link", "dist/app.css", "</footer>"):
        if needle not in html:
            problems.append(f"{name}: missing {needle}")
    if "crown" in html.lower() or "GDS Transport" in html:
        problems.append(f"{name}: GOV.UK branding found")
    return problems


def run_check(app: Flask) -> list[str]:
    """Render every page through the test client and check the HTML."""
    problems = []
    client = app.test_client()
    expected = {
        "error-400": 400,
        "error-403": 403,
        "error-404": 404,
        "error-429": 429,
        "error-500": 500,
    }
    for name, path in PAGES:
        response = client.get(path)
        if response.status_code != expected.get(name, 200):
            problems.append(f"{name}: status {response.status_code}")
        problems += check_html(name, response.get_data(as_text=True))
    app.config["WTF_CSRF_ENABLED"] = False
    posted = client.post("/sign-in", data={}).get_data(as_text=True)
    wrong = client.post("/sign-in", data={"email": "a@b.test", "password": "x"}).get_data(
        as_text=True
    )
    app.config["WTF_CSRF_ENABLED"] = True
    if (
        'href="#email">Enter your email address' not in posted
        or 'aria-describedby="email-error"' not in posted
    ):
        problems.append("sign-in POST: field errors not linked")
    if "Email address or password is not right" not in wrong:
        problems.append("sign-in POST: extra error not shown")
    with app.test_request_context("/"):
        told = render_template(
            "errors/403.html", error=_Told("This order belongs to another school.")
        )
        too_big = render_template("errors/400.html", error=RequestEntityTooLarge())
    if "This order belongs to another school." not in told:
        problems.append("403: the error's message is not shown")
    if "too big" not in too_big:
        problems.append("400: a 413 does not say the file is too big")
    if not (ROOT / "app" / "static" / "dist" / "app.css").exists():
        problems.append("app/static/dist/app.css is missing: run `npm run build`")
    return problems


def run_screenshots(app: Flask, out: Path) -> list[str]:
    """Serve the app on a free port and screenshot every page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    problems: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            runs = [
                ("desktop", {"viewport": {"width": 1280, "height": 900}}, PAGES),
                (
                    "phone",
                    {"viewport": {"width": 375, "height": 800}, "device_scale_factor": 2},
                    PAGES[:5],
                ),
                (
                    "nojs",
                    {"viewport": {"width": 1280, "height": 900}, "java_script_enabled": False},
                    PAGES[3:5],
                ),
            ]
            for label, options, pages in runs:
                context = browser.new_context(**options)
                page = context.new_page()
                page.on(
                    "pageerror",
                    lambda exc, label=label: problems.append(f"{label}: JavaScript error {exc}"),
                )
                page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
                page.on(
                    "response",
                    lambda res: (
                        problems.append(f"{res.status} for {res.url}")
                        if res.status >= 400 and "/preview/error/" not in res.url
                        else None
                    ),
                )
                for name, path in pages:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    if label == "desktop" and name == "dashboard":
                        page.locator("#spend details summary").click()
                    page.screenshot(path=str(out / f"{label}-{name}.png"), full_page=True)
                    if name == "dashboard":  # close-ups of each chart, readable at full size
                        for figure in page.locator("figure.app-figure").all():
                            figure_id = figure.get_attribute("id")
                            figure.screenshot(path=str(out / f"{label}-figure-{figure_id}.png"))
                    if name == "home":
                        page.locator("header").screenshot(path=str(out / f"{label}-header.png"))
                if label == "desktop":
                    page.goto(base + "/")
                    supported = page.evaluate(
                        "document.body.classList.contains('govuk-frontend-supported')"
                    )
                    if not supported:
                        problems.append("desktop: GOV.UK Frontend JavaScript did not start")
                context.close()
            browser.close()
    finally:
        server.shutdown()
        thread.join()
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the preview app")
    serve.add_argument("--port", type=int, default=5050)
    shot = sub.add_parser("screenshot", help="save PNGs of every preview page")
    shot.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "pooled-preview")
    sub.add_parser("check", help="render every page and check the HTML")
    args = parser.parse_args(argv)

    app = create_preview_app()
    if args.command == "serve":
        app.run(host="127.0.0.1", port=args.port, debug=True)
        return 0
    problems = run_check(app)
    if args.command == "screenshot":
        problems += run_screenshots(app, args.out)
        print(f"Screenshots in {args.out}")
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
