"""scorecard.html rendered from scorecards (the real good-app run, edited NO-GO and GO-WITH-WAIVERS copies, older
schema versions), and `readiness report` with its formats and its bad-input errors."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.scorecard.html import display, to_html
from harness.scorecard.model import Scorecard

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scorecards"


def load(name: str) -> Scorecard:
    return Scorecard.model_validate_json((FIXTURES / f"{name}.json").read_text())


class Page(HTMLParser):
    """The page's elements as (tag, attributes) in document order, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if "id" in a]

    def with_class(self, css: str) -> list[dict]:
        return [a for _, a in self.elements if css in (a.get("class") or "").split()]

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def test_good_app_page_has_the_sections_in_reading_order():
    card = load("good-app")
    page = Page(to_html(card))
    ids = page.ids()
    order = ["verdict", "failure-modes", "charts", "chart-attempts", "chart-latency", "chart-alert-matrix", "checks", "workflow-types", "run", "artifacts"]
    assert [i for i in ids if i in order] == order
    assert "waived-failures" not in ids and "since-last-go" not in ids
    [banner] = page.with_class("banner")
    assert banner["class"] == "banner go"
    text = page.all_text()
    assert "GO 12 of 12 checks passed" in text and "sample-orders" in text and "c3dd95f7" in text and "2 min 22 s" in text


def test_each_check_has_a_row_linking_to_its_section():
    card = load("good-app")
    page = Page(to_html(card))
    rows = page.with_class("check-row")
    sections = page.with_class("check")
    assert len(rows) == len(sections) == len(card.checks) == 12
    links = [a["href"] for tag, a in page.elements if tag == "a" and a.get("href", "").startswith("#check-")]
    assert links == [f"#{s['id']}" for s in sections]
    assert sections[0]["id"] == "check-determinism-static" and "PASS" in sections[0]["class"]


def test_page_is_self_contained():
    html = to_html(load("good-app"))
    page = Page(html)
    tags = {tag for tag, _ in page.elements}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not any("src" in a for _, a in page.elements)
    assert "url(" not in html and "@import" not in html and "http://" not in html and "https://" not in html
    hrefs = [a["href"] for tag, a in page.elements if tag == "a"]
    assert hrefs and all(h.startswith("#") or not (h.startswith("/") or ":" in h) for h in hrefs)  # in-page or relative


def test_evidence_text_is_escaped():
    card = load("good-app")
    hostile = "<script>alert('x')</script>"
    first = card.checks[0].model_copy(update={
        "summary": f"summary {hostile}", "remediation": f"fix {hostile}",
        "evidence": {"note": hostile, "rows": [{"col<b>": hostile}]},
    })
    html = to_html(card.model_copy(update={"checks": [first, *card.checks[1:]], "verdict_reason": hostile}))
    assert "<script>" not in html and "<b>" not in html
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 6  # reason, row, section summary, fix, figure, table cell
    assert "col&lt;b&gt;" in html


def test_evidence_figures_tables_and_links():
    page_html = to_html(load("good-app"))
    page = Page(page_html)
    # Nested evidence is shown as dotted names; long row tables are collapsed; report files are relative links.
    assert "fault.probe_refused" in page.all_text()
    collapsed = [t for t in page.all_text().split(" rows)") if "bursts (9" in t]
    assert collapsed, "the signal bursts table (9 rows) is collapsed under <details>"
    hrefs = [a["href"] for tag, a in page.elements if tag == "a"]
    assert "histories/order-c3dd95f7-non-retryable-e0-0.json" in hrefs and "alerts/01-worker-restart-baseline.test.yml" in hrefs
    assert not any(h.startswith("sample_workflows/") for h in hrefs)  # repo paths are not report files
    assert display(True).text == "yes" and display(None).text == "-" and display(list(range(25))).text.endswith("(and 5 more)")


def test_no_go_page_shows_the_failure_and_what_to_fix():
    page = Page(to_html(load("no-go")))
    assert page.with_class("banner")[0]["class"] == "banner nogo"
    [fix] = page.with_class("fix")
    section = next(a for a in page.with_class("check") if a["id"] == "check-retry-policy")
    assert "FAIL" in section["class"]
    text = page.all_text()
    assert "What to fix Give every activity an explicit RetryPolicy" in text
    # The expired waiver is listed prominently and marked.
    assert page.ids().index("waived-failures") < page.ids().index("failure-modes")
    assert "PAY-123" in text and len(page.with_class("expired")) == 3  # the waived box, the check's row and its own section
    # An expired waiver no longer covers the failure: the row must not read WAIVED on a NO-GO page.
    assert page.with_class("WAIVED") == [] and "WAIVER EXPIRED FAIL" not in text and "FAIL WAIVER EXPIRED" in text


def test_go_with_waivers_page_lists_the_waived_failure():
    page = Page(to_html(load("go-with-waivers")))
    assert page.with_class("banner")[0]["class"] == "banner waivers"
    text = page.all_text()
    assert "Waived failures" in text and "activity_type:charge_payment" in text and "payments-team" in text and "2099-12-31" in text
    assert page.with_class("expired") == [] and len(page.with_class("WAIVED")) == 1


def test_since_the_last_go_is_rendered_only_when_present():
    card = load("no-go")
    since = {
        "run_id": "c3dd95f7", "started_at": "2026-11-21T21:54:14+00:00", "git_commit": "1d15bb3",
        "regressed": [{"check": "retry.policy", "scenario": "retry-outage", "old": "PASS", "new": "FAIL"}], "improved": [],
        "definition_changes": ["charge_payment: maximum attempts changed from 8 to unlimited"],
    }
    with_since = Scorecard.model_validate({**json.loads(card.model_dump_json()), "since_last_go": since})
    page = Page(to_html(with_since))
    ids = page.ids()
    assert ids.index("waived-failures") < ids.index("since-last-go") < ids.index("failure-modes")
    text = page.all_text()
    assert "retry.policy (retry-outage): PASS → FAIL" in text and "maximum attempts changed from 8 to unlimited" in text
    assert "Improved none" in text


def test_older_schema_versions_render():
    data = json.loads((FIXTURES / "good-app.json").read_text())
    assert data["schema_version"] == "1.1"
    del data["workflow_types"]
    data["schema_version"] = "1.0"
    page = Page(to_html(Scorecard.model_validate(data)))
    assert "workflow-types" not in page.ids() and "chart-latency" not in page.ids() and "chart-attempts" in page.ids()


# --- readiness report ----------------------------------------------------------------------------------------------


@pytest.fixture
def scorecard_file(tmp_path) -> Path:
    path = tmp_path / "run" / "scorecard.json"
    path.parent.mkdir()
    path.write_text((FIXTURES / "good-app.json").read_text())
    return path


@pytest.mark.parametrize(("fmt", "name", "marker"), [("html", "scorecard.html", "<!DOCTYPE html>"), ("md", "scorecard.md", "# Readiness scorecard"),
                                                      ("junit", "junit.xml", "<?xml")])
def test_report_writes_each_format_next_to_the_json(scorecard_file, fmt, name, marker):
    result = CliRunner().invoke(main, ["report", str(scorecard_file), "--format", fmt])
    assert result.exit_code == 0, result.output
    written = scorecard_file.parent / name
    assert written.read_text().lstrip().startswith(marker) and str(written) in result.output
    assert sorted(p.name for p in scorecard_file.parent.iterdir()) == sorted(["scorecard.json", name])


def test_report_out_writes_where_asked_and_defaults_to_html(scorecard_file, tmp_path):
    out = tmp_path / "elsewhere" / "page.html"
    assert CliRunner().invoke(main, ["report", str(scorecard_file), "--out", str(out)]).exit_code == 0
    assert out.read_text() == to_html(load("good-app"))


def bad_input(tmp_path: Path, name: str, content: str | None) -> Path:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "missing.json: file not found"),
        ("broken.json", '{"schema_version": "1.2",', "broken.json: not valid JSON"),
        ("list.json", "[1, 2]", "list.json: not a readiness scorecard"),
        ("other.json", '{"name": "x"}', "other.json: not a readiness scorecard"),
        ("future.json", "MAJOR2", "future.json: schema_version: scorecard schema '2.0' is not one this harness reads"),
        ("partial.json", "NO_RUN", "partial.json: run: not a valid scorecard: Field required"),
    ],
)
def test_report_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, name, content, message):
    good = (FIXTURES / "good-app.json").read_text()
    if content == "MAJOR2":
        content = good.replace('"schema_version": "1.1"', '"schema_version": "2.0"')
    elif content == "NO_RUN":
        data = json.loads(good)
        del data["run"]
        content = json.dumps(data)
    path = bad_input(tmp_path, name, content)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["report", str(path), "--format", "html"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_report_refuses_to_overwrite_its_input(scorecard_file):
    result = CliRunner().invoke(main, ["report", str(scorecard_file), "--out", str(scorecard_file)])
    assert result.exit_code == 2 and "would overwrite" in result.output
    assert Scorecard.model_validate_json(scorecard_file.read_text()).run.id == "c3dd95f7"


def test_a_scorecard_without_scenarios_checks_or_types_renders_without_charts():
    data = json.loads((FIXTURES / "good-app.json").read_text())
    data.update(scenarios=[], checks=[], workflow_types=[], artifacts={})
    data["run"].update(command="watch", app_git_commit=None)
    page = Page(to_html(Scorecard.model_validate(data)))
    assert "charts" not in page.ids() and page.with_class("check-row") == []
    assert "command watch" in page.all_text() and "not a git checkout" in page.all_text()
