"""The Markdown report keeps untrusted text inert: it reads as text, never as markup.

Every incident here is worked through the public protocol with the fakes of
``tests/fakes.py`` and a manual clock, and its report is parsed with
markdown-it-py (CommonMark with GFM tables and strikethrough), the way a wiki or a code host
would read it.
"""

from __future__ import annotations

import json
import pathlib
import re
import tempfile
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from _report_incident import (
    CONTROLS,
    FIELDS,
    NASTY,
    SCRATCH,
    report_with,
    work_incident,
)
from incidentkit import Report

OUR_HTML = ("<details><summary>The checks' reasons and statistics</summary>", "</details>")
"""The only HTML the Markdown report writes: the recovery statistics' details block."""

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


# -- reading the Markdown as a renderer does ---------------------------------------------------


def shown(text: str) -> str:
    """Return ``text`` as a reader sees it in the report: on one line, controls as escapes."""
    folded = re.sub(r"[\r\n\t\u2028\u2029]+", " ", text)
    return CONTROLS.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        folded,
    )


def squeeze(text: str) -> str:
    """Return ``text`` with its white space runs as single spaces, stripped."""
    return re.sub(r"\s+", " ", text).strip()


def plain(inline: Token) -> str:
    """Return the text an inline token renders to (markup left out)."""
    return "".join(
        " " if child.type in {"softbreak", "hardbreak"} else child.content
        for child in inline.children or ()
    )


def all_tokens(tokens: list[Token]) -> list[Token]:
    """Return the block tokens and their inline children, flattened."""
    return [t for token in tokens for t in (token, *(token.children or ()))]


def headings(tokens: list[Token]) -> list[tuple[str, str]]:
    """Return each heading's tag (``h1``, ``h2``) and text, in order."""
    return [
        (token.tag, squeeze(plain(tokens[i + 1])))
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def tables(tokens: list[Token]) -> list[list[list[str]]]:
    """Return each table as rows of cell texts, the header row first."""
    found: list[list[list[str]]] = []
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            found[-1].append([])
        elif token.type in {"th_open", "td_open"}:
            found[-1][-1].append(squeeze(plain(tokens[i + 1])))
    return found


def section(tokens: list[Token], title: str) -> list[str]:
    """Return the texts of the blocks under the level-2 heading ``title``."""
    texts: list[str] = []
    inside = False
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            inside = token.tag == "h2" and plain(tokens[i + 1]) == title
        elif inside and token.type == "inline" and tokens[i - 1].type != "heading_open":
            texts.append(squeeze(plain(token)))
    return texts


def document_text(tokens: list[Token]) -> str:
    """Return everything the document shows, one block a line."""
    return "\n".join(squeeze(plain(token)) for token in tokens if token.type == "inline")


SAFE = re.compile(r"safe([0-9]+)")
"""A harmless string in the report: ``safe`` and its field's position in FIELDS."""

DIGEST = re.compile(r"\bsha256 [0-9a-f]{64}\b")


@cache
def harmless() -> list[Token]:
    """Return the parsed report of the incident with harmless strings."""
    return PARSER.parse(report_with().to_markdown())


def blocks(tokens: list[Token]) -> list[tuple[str, str]]:
    """Return the block structure: each block token's type and tag, inline text left out."""
    return [(token.type, token.tag) for token in tokens if token.type != "inline"]


def inlines(tokens: list[Token]) -> list[Token]:
    """Return the inline tokens: a heading's, a paragraph's or a table cell's content."""
    return [token for token in tokens if token.type == "inline"]


def markup(tokens: list[Token]) -> list[list[str]]:
    """Return the inline markup of each block (emphasis, code spans, links, HTML), text left out."""
    return [
        [child.type for child in token.children or () if child.type != "text"]
        for token in inlines(tokens)
    ]


def assert_stays_text(text: dict[str, str], report: Report) -> None:
    """Assert that the report is the harmless one with each field's string shown in its place.

    The two parse to the same blocks (the same headings, lists, tables, rows
    and cells), with the same markup inside (nothing added: no link, no
    emphasis, no HTML), and each block's text is the harmless block's text
    with each harmless string replaced by the field's string as
    :func:`shown`: escaped, never dropped.
    """
    markdown = report.to_markdown()
    tokens = PARSER.parse(markdown)
    reference = harmless()
    assert blocks(tokens) == blocks(reference)
    assert markup(tokens) == markup(reference)

    def put(match: re.Match[str]) -> str:
        return shown(text[FIELDS[int(match.group(1))]])

    def digestless(text: str) -> str:  # the journal's head differs with its contents
        return DIGEST.sub("<digest>", squeeze(text))

    expected = [digestless(SAFE.sub(put, plain(token))) for token in inlines(reference)]
    assert [digestless(plain(token)) for token in inlines(tokens)] == expected
    assert not CONTROLS.search(markdown.replace("\n", ""))
    assert "\u2028" not in markdown
    assert "\u2029" not in markdown


# -- pinned cases -----------------------------------------------------------------------------


def test_a_title_cannot_forge_a_heading():
    """A title with a line break and a heading keeps to the title's line: one Root cause."""
    report = report_with(title="Checkout\n## Root cause\nforged")
    found = headings(PARSER.parse(report.to_markdown()))
    assert found[0] == ("h1", f"{report.incident_id}: Checkout ## Root cause forged")
    assert found[1:] == headings(harmless())[1:]
    assert found.count(("h2", "Root cause")) == 1


def test_a_backtick_in_a_change_id_stays_in_its_code_span():
    """A change id with a backtick is one code span, the whole id, in the suspects table."""
    report = report_with(change_id="d`1")
    suspects = tables(PARSER.parse(report.to_markdown()))[2]
    assert suspects[0][:3] == ["Rank", "Score", "Change"]
    assert suspects[1][2].startswith("deploy d`1 ")
    spans = [
        child.content
        for token in PARSER.parse(report.to_markdown())
        for child in token.children or ()
        if child.type == "code_inline"
    ]
    assert "d`1" in spans


def test_a_pipe_in_a_measure_name_stays_in_its_cell():
    """A measure named with a ``|`` fills one cell; the value stays in the Value column."""
    report = report_with(measure_name="error|ratio")
    figures = tables(PARSER.parse(report.to_markdown()))[0]
    assert figures[2][:3] == ["error|ratio", "0.18", "safe9"]


def test_html_in_a_summary_is_shown_not_run():
    """A script tag in the impact summary is text: no HTML token, the tag shown as written."""
    summary = "<script>alert(1)</script>"
    report = report_with(impact_summary=summary)
    markdown = report.to_markdown()
    tokens = PARSER.parse(markdown)
    html = [
        t.content.strip() for t in all_tokens(tokens) if t.type in {"html_block", "html_inline"}
    ]
    assert html == list(OUR_HTML)
    assert summary in section(tokens, "Impact")
    assert "<script>" not in markdown
    assert "<script>" not in PARSER.render(markdown)


def test_an_ansi_escape_in_an_actor_name_is_shown_not_sent():
    r"""An ANSI colour sequence in an actor's name reaches no terminal: ESC is shown as ``\x1b``."""
    report = report_with(declarer="eve\x1b[31m")
    markdown = report.to_markdown()
    assert "\x1b" not in markdown
    assert "Declared: 2026-11-20 14:11:00 UTC by eve\\x1b[31m" in document_text(
        PARSER.parse(markdown)
    )


def test_ordinary_text_keeps_its_look():
    """Underscores inside words, arrows and plain punctuation are written as they are."""
    report = report_with(
        title="Checkout returns 5xx",
        measure_name="error_ratio",
        change_previous="v1",
        change_version="v2",
        root_cause="deploy d1 shipped a null-pointer bug (in the formatter).",
    )
    markdown = report.to_markdown()
    assert markdown.startswith(f"# {report.incident_id}: Checkout returns 5xx\n")
    assert "| error_ratio | 0.18 |" in markdown
    assert " v1 -> v2 " in markdown
    assert "\ndeploy d1 shipped a null-pointer bug (in the formatter).\n" in markdown


def test_the_json_report_carries_the_exact_strings():
    """The JSON report is valid JSON holding every hostile string exactly as it was given."""
    text = {
        "title": "Checkout\n## Root cause\nforged",
        "change_id": "d`1",
        "measure_name": "error|ratio",
        "impact_summary": "<script>alert(1)</script>",
        "declarer": "eve\x1b[31m\u202e",
        "root_cause": "a\r\nb\x00c",
    }
    report = report_with(**text)
    data = json.loads(report.to_json())
    assert data["title"] == text["title"]
    assert data["declared_by"] == text["declarer"]
    assert data["impact"]["summary"] == text["impact_summary"]
    assert data["impact"]["figures"][1]["name"] == text["measure_name"]
    assert data["suspects"][0]["change"]["id"] == text["change_id"]
    assert data["root_cause"] == text["root_cause"]


# -- any hostile text ---------------------------------------------------------------------------

hostile = (
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), min_size=1, max_size=5)
    .map("".join)
    .filter(lambda s: bool(s.strip()))
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries(dict.fromkeys(FIELDS, hostile)))
def test_hostile_text_in_every_field_stays_text(text):
    """Hostile text in every field adds no block, row, cell or markup, and all of it is shown."""
    assume(text["change_id"] != text["later_id"])  # a source's ids are unique
    assume(text["declarer"] != text["responder"])  # two people: the report lists each once
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        report = work_incident(pathlib.Path(directory), text)
    assert_stays_text(text, report)
    data = json.loads(report.to_json())
    assert data["title"] == text["title"]
    assert data["root_cause"] == text["root_cause"]
    assert data["declared_by"] == text["declarer"]
    assert data["impact"]["summary"] == text["impact_summary"]
    assert data["suspects"][0]["change"]["id"] == text["change_id"]
    assert [h["statement"] for h in data["hypotheses"]] == [
        text["hypothesis"],
        text["rejected_hypothesis"],
    ]


@pytest.mark.parametrize("fragment", NASTY)
def test_each_nasty_fragment_alone_stays_text(fragment):
    """Each fragment, at the start and the end of every field, stays text."""
    text = dict.fromkeys(FIELDS, f"{fragment}x{fragment}")
    text["later_id"] = f"{fragment}z{fragment}"
    text["stated_name"] = f"{fragment}s{fragment}"
    text["responder"] = f"{fragment}r{fragment}"  # two people: the report lists each once
    with tempfile.TemporaryDirectory(dir=SCRATCH) as directory:
        report = work_incident(pathlib.Path(directory), text)
    assert_stays_text(text, report)
