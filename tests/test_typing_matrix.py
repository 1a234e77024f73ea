"""The typing tests' matrix of forbidden steps is exactly what the rule table forbids."""

from __future__ import annotations

import ast
import pathlib

import pytest

from incidentkit._rules import PHASES, STEPS, render_docs_table

FORBIDDEN_FILE = pathlib.Path(__file__).parent / "typing" / "check_forbidden.py"


def _calls_per_phase() -> dict[str, set[str]]:
    """Return, for each ``<phase>_forbids`` function, the steps it calls on its phase."""
    tree = ast.parse(FORBIDDEN_FILE.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_forbids"):
            phase = node.name.removesuffix("_forbids")
            found[phase] = {
                call.func.attr
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == phase
            }
    return found


@pytest.mark.parametrize("phase", PHASES)
def test_each_forbidden_step_is_a_checked_type_error(phase):
    """Every step the table forbids in a phase is called there in check_forbidden.py, no more."""
    forbidden = {step.name for step in STEPS if phase not in step.allowed}
    assert _calls_per_phase()[phase] == forbidden


def test_the_docs_table_of_steps_is_the_rule_table():
    """docs/protocol.md shows exactly the table rendered from the rule table."""
    docs = (pathlib.Path(__file__).parent.parent / "docs" / "protocol.md").read_text(
        encoding="utf-8"
    )
    shown = docs.split("<!-- steps-table:start -->\n", 1)[1].split("<!-- steps-table:end -->", 1)[0]
    assert shown == render_docs_table()


def test_each_step_records_an_event_type_that_exists():
    """The rule table names events by their tags: each tag is an event type, each type a step's.

    Every event type but the declaration is recorded by some step (the overrides'
    ``override_recorded`` by each override step).
    """
    from incidentkit._events import EVENT_TYPES  # noqa: PLC0415 - the table loads without it

    recorded = {step.event for step in STEPS if step.event is not None}
    assert recorded <= set(EVENT_TYPES)
    assert set(EVENT_TYPES) - recorded == {"incident_declared"}
