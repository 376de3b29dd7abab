"""The whole life of an incident in a real browser, as each role does it: declare with impact, the
war room (notes, a backdated note, checklist ticks, live updates seen by a second person), triage,
roles, a status update, escalation, a refused and then a successful resolve, the post-mortem with
action items, publishing, the exports opened, the reports, the admin and the public status page.

One long test on purpose: each step builds on the one before, as for the people doing it, and the
live server's database is set up once. The harness fails any step on console errors, foreign
requests, 500s or serious accessibility violations."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from incidents.models import Incident, Service
pytestmark = pytest.mark.browser


@pytest.fixture
def people(make_user):
    staff = {
        "rita": make_user("Responder", username="rita", first_name="Rita", last_name="Reyes"),
        "sam": make_user("Responder", username="sam", first_name="Sam", last_name="Okafor"),
        "ivan": make_user("Incident manager", username="ivan", first_name="Ivan",
                          last_name="Ortega"),
        "mona": make_user("Manager", username="mona", first_name="Mona", last_name="Berg",
                          is_staff=True),
        "paula": make_user("Product manager", username="paula", first_name="Paula",
                           last_name="Price"),
    }
    assert Group.objects.filter(name="Manager").exists()
    return staff


@pytest.fixture
def checkout(committed_db):
    return Service.objects.create(name="Checkout", slug="checkout", is_critical_path=True,
                                  is_public=True)


def download(visitor, click) -> bytes:
    with visitor.page.expect_download() as info:
        click()
    return open(info.value.path(), "rb").read()


def test_an_incident_from_declaration_to_published_review(people, checkout, open_browser):
    rita = open_browser("rita (responder)", people["rita"])
    reference = declare_with_impact(rita)
    incident = Incident.objects.get(reference=reference)

    sam = open_browser("sam (second responder)", people["sam"])
    war_room_live(rita, sam, reference)

    ivan = open_browser("ivan (incident manager)", people["ivan"])
    triage_and_roles(ivan, reference)
    status_update(ivan, reference)
    escalate(ivan, reference)
    resolve_refused_then_done(ivan, reference)
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED

    review_with_action_items(ivan, reference)

    paula = open_browser("paula (product manager)", people["paula"])
    incident_summary(paula, reference)
    reports_and_exports(paula, reference)

    mona = open_browser("mona (manager)", people["mona"])
    admin_transitions_and_history(mona, incident)

    public = open_browser("public")
    public_status_page(public)


# --- steps ------------------------------------------------------------------------------------


def declare_with_impact(rita) -> str:
    page = rita.page
    page.get_by_role("link", name="Declare").first.click()
    rita.check("declare form")
    page.get_by_label("Title").fill("Card payments fail at checkout")
    page.get_by_label("Description").fill("Every card payment returns an error since the deploy.")
    page.get_by_label(re.compile(r"^\s*P1\b")).check()
    page.get_by_label("Checkout").check()
    page.get_by_label("Customers affected", exact=True).fill("5200")
    page.get_by_label("Revenue impact per hour").fill("12500")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Customer-facing").check()
    page.get_by_role("button", name="Declare").click()
    page.wait_for_url(re.compile(r"/(incidents|war-room)/INC-"))
    rita.check("declared")
    reference = re.search(r"INC-\d{4}-\d{4}", page.url).group(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    return reference


def war_room_live(rita, sam, reference):
    # Sam has the war room open before Rita writes anything: what she adds reaches him live.
    sam.goto(f"/war-room/{reference}/", "sam opens the war room")
    rita.goto(f"/war-room/{reference}/", "rita opens the war room")
    page = rita.page
    note = page.locator("#note-form")
    note.get_by_label("Note").fill("Card payments fail for every issuer; rolling back the deploy.")
    note.get_by_role("button", name="Add note").click()
    entries = page.locator("#timeline-entries")
    expect(entries).to_contain_text("rolling back the deploy")
    rita.check("note added")

    earlier = timezone.localtime() - timedelta(minutes=20)
    note.get_by_label("Note").fill(f"{earlier:%H:%M} first alert from the payment gateway")
    note.get_by_role("button", name="Add note").click()
    expect(entries).to_contain_text("first alert from the payment gateway")
    rita.check("backdated note added")

    expect(sam.page.locator("#timeline-entries")).to_contain_text(
        "rolling back the deploy", timeout=20_000)
    expect(sam.page.locator("#timeline-entries")).to_contain_text(
        "first alert from the payment gateway", timeout=20_000)
    sam.check("sees rita's notes without reloading")
    live = timeline_ids(sam.page)
    sam.page.reload()
    assert timeline_ids(sam.page) == live, "the live timeline differs from a reload"
    sam.check("reloaded: same timeline")

    first_open = page.locator("#checklist button[aria-label^='Tick ']").first
    label = first_open.get_attribute("aria-label").removeprefix("Tick ")
    first_open.click()
    expect(page.get_by_role("button", name=f"Untick {label}")).to_be_visible()
    counts = page.locator("#checklist").inner_text()
    assert "1/" in counts, "the phase header does not count the tick"
    page.reload()
    assert page.locator("#checklist").inner_text() == counts, "a reload shows other counts"
    rita.check("checklist item ticked")


def triage_and_roles(ivan, reference):
    ivan.goto(f"/incidents/{reference}/", "ivan opens the incident")
    page = ivan.page
    triage = page.locator("#transition-triage")
    choose(triage.get_by_label("Confirmed severity"), r"^P0")
    choose(triage.get_by_label("Incident manager"), "Ivan Ortega")
    triage.get_by_label("Reason").fill("Every card payment fails: critical.")
    triage.get_by_role("button").click()
    expect(page.locator("#incident-state")).to_contain_text("Triaged")
    ivan.check("triaged as P0")

    page.locator("#transition-investigate").get_by_role("button").click()
    expect(page.locator("#incident-state")).to_contain_text("Investigating")
    ivan.check("investigating")

    roles = page.locator("#assign-role")
    roles.locator("summary").click()
    roles.get_by_label("Role").select_option(label="Communications lead")
    choose(roles.get_by_label("Person"), "Sam Okafor")
    roles.get_by_role("button", name="Assign").click()
    expect(page.locator("#roles")).to_contain_text("Sam Okafor")
    ivan.check("communications lead assigned")


def status_update(ivan, reference):
    ivan.goto(f"/war-room/{reference}/", "ivan opens the war room")
    page = ivan.page
    chooser = page.get_by_label("Message template")
    customer = [text for text in chooser.locator("option").all_inner_texts()
                if text.startswith("Customers")]
    assert customer, "no message template for customers"
    chooser.select_option(label=customer[0])
    page.get_by_role("button", name="Compose").click()
    compose = page.locator("#compose-form")
    expect(compose).to_be_visible()
    compose.get_by_role("button", name="Preview").click()
    expect(page.locator("#compose-preview")).to_be_visible()
    ivan.check("status update previewed")
    page.locator("#compose-form").get_by_role("button", name="Send").click()
    expect(page.locator("#communications")).to_contain_text("public")
    ivan.check("status update sent")


def escalate(ivan, reference):
    ivan.goto(f"/incidents/{reference}/", "ivan back on the incident page")
    form = ivan.page.locator(f"#escalate-{reference}")
    form.get_by_role("radio", name="Business impact").check()
    form.get_by_label("What is the level needed for?").fill("Decide on refunds for failed orders.")
    form.get_by_role("button", name="Escalate").click()
    expect(form).to_contain_text(f"{reference} escalated to L")
    ivan.check("escalated")


def resolve_refused_then_done(ivan, reference):
    ivan.goto(f"/war-room/{reference}/", "ivan opens the war room to resolve")
    page = ivan.page
    resolve = page.locator("#transitions details", has_text="Resolve")
    resolve.locator("summary").click()
    resolve.get_by_label("Resolution summary").fill("Rolled back the deploy; payments flow again.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alert").filter(has_text="still open before")).to_be_visible()
    ivan.check("resolve refused while required items are open")

    gates = page.locator("#checklist li", has_text="Required to resolve")
    while gates.locator("button[aria-label^='Tick ']").count():
        button = gates.locator("button[aria-label^='Tick ']").first
        name = button.get_attribute("aria-label").removeprefix("Tick ")
        button.click()
        expect(page.get_by_role("button", name=f"Untick {name}")).to_be_visible()
    ivan.check("required items ticked")
    page.reload()
    resolve = page.locator("#transitions details", has_text="Resolve")
    resolve.locator("summary").click()
    resolve.get_by_label("Resolution summary").fill("Rolled back the deploy; payments flow again.")
    resolve.get_by_role("button", name="Resolve").click()
    expect(page.locator("#warroom-header")).to_contain_text("Resolved")
    ivan.check("resolved")


def review_with_action_items(ivan, reference):
    ivan.goto(f"/reviews/{reference}/", "ivan opens the review")
    page = ivan.page
    start = page.get_by_role("button", name="Start drafting")
    if start.count():
        start.click()
        ivan.check("drafting started")

    page.locator("#summary").get_by_role("link", name="edit").click()
    page.get_by_label("Summary").fill("Card payments failed for 40 minutes after a deploy.")
    page.get_by_role("button", name=re.compile("Save")).click()
    ivan.check("summary saved")

    page.locator("#analysis").get_by_role("link", name="edit").click()
    page.get_by_label("Root cause", exact=True).fill("A configuration key was renamed without a migration.")
    page.get_by_label("Why? (1)").fill("The gateway rejected requests without the key.")
    page.get_by_role("button", name=re.compile("Save")).click()
    ivan.check("root cause saved")

    page.locator("#resolution").get_by_role("link", name="edit").click()
    page.get_by_label("Resolution").fill("Rolled back, then shipped the key with a migration.")
    page.get_by_role("button", name=re.compile("Save")).click()
    ivan.check("resolution saved")

    page.locator("#action-items").get_by_role("link", name="add").click()
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    page.get_by_label("Title").fill("Check configuration keys in CI")
    choose(page.get_by_label("Owner"), "Sam Okafor")
    page.get_by_label("Due date").fill(due)
    page.get_by_role("button", name=re.compile("Save|Add")).click()
    expect(page.locator("body")).to_contain_text("Check configuration keys in CI")
    ivan.check("action item added")

    ivan.goto(f"/reviews/{reference}/", "ivan back on the review")
    page.get_by_role("button", name="Submit for review").click()
    ivan.check("submitted for review")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("body")).to_contain_text("Published")
    ivan.check("published")

    markdown = download(ivan, lambda: page.get_by_role("link", name="Markdown").click())
    assert "A configuration key was renamed" in markdown.decode()
    pdf = download(ivan, lambda: page.get_by_role("link", name="PDF").click())
    assert "configuration key was renamed" in pdf_text(pdf)


def incident_summary(paula, reference):
    text = paula.context.request.get(paula.url(f"/reports/incidents/{reference}/summary.txt"))
    assert text.ok and reference in text.text(), f"summary text answered {text.status}"
    summary = paula.context.request.get(paula.url(f"/reports/incidents/{reference}/summary.pdf"))
    assert summary.ok, f"summary PDF answered {summary.status}"
    assert reference in pdf_text(summary.body())


def reports_and_exports(paula, reference):
    paula.goto("/reports/", "reports dashboard")
    page = paula.page
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    rows = list(csv.reader(io.StringIO(
        download(paula, lambda: page.get_by_role("link", name="Incidents CSV").click())
        .decode("utf-8-sig"))))
    assert any(reference in row for row in rows), f"{reference} missing from the CSV: {rows[:3]}"
    workbook = load_workbook(io.BytesIO(
        download(paula, lambda: page.get_by_role("link", name=re.compile(r"XLSX$")).click())))
    cells = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True)
             for cell in row]
    assert reference in cells, f"{reference} missing from the XLSX"
    text = pdf_text(download(paula, lambda: page.get_by_role("link", name=re.compile(r"^\W*PDF$"))
                             .first.click()))
    assert "MTTR" in text or "Incidents" in text


def admin_transitions_and_history(mona, incident):
    mona.goto("/admin/", "admin home")
    mona.goto(f"/admin/incidents/incident/{incident.pk}/change/", "incident in the admin")
    page = mona.page
    close = page.get_by_role("button", name=re.compile("^Close"))
    if close.count():
        close.first.click()
        mona.check("close from the admin")
    page.get_by_role("link", name="History").click()
    mona.check("incident history in the admin")
    expect(page.locator("body")).to_contain_text("Resolved")


def public_status_page(public):
    public.goto("/status/", "public status page")
    resolved = public.page.locator("main")
    expect(resolved).to_contain_text("Checkout")
    expect(resolved).to_contain_text("Resolved")
    # Internal titles never reach the public page.
    expect(resolved).not_to_contain_text("Card payments fail at checkout")


def timeline_ids(page) -> list[str]:
    return page.locator("#timeline-entries > li").evaluate_all(
        "items => items.map(item => item.id)")


def choose(select, pattern: str) -> None:
    """Select the option whose text matches `pattern` (a regular expression)."""
    texts = select.locator("option").all_inner_texts()
    matching = [text for text in texts if re.search(pattern, text)]
    assert matching, f"no option matches {pattern!r} among {texts}"
    select.select_option(label=matching[0])


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
