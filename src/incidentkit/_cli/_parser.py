"""The command line: one argparse subcommand per inspecting command and per protocol step."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

from incidentkit._cli._config import CONFIG_ENV, DEFAULT_CONFIG
from incidentkit._cli._objective import add_objective_options
from incidentkit._cli._target import INCIDENT_ENV, STORE_ENV
from incidentkit._cli._text import one_line
from incidentkit._model import (
    ChecklistItem,
    Detection,
    FindingKind,
    MitigationKind,
    Role,
    Severity,
)
from incidentkit._redact import mask_urls

__all__ = ["build_parser"]

_DESCRIPTION = """\
Work a production incident from the shell, in the protocol's order, and look at
its journal: impact before cause, rollback options before intervention, recovery
verified in monitoring, a tamper-evident record of every step.

Every command takes the incident's journal file, or --store LOCATION --incident ID
(a directory of journals, or a postgresql:// URL); ${store} and ${incident}
give the defaults. Sources, executors and metrics are named in a TOML
configuration: --config FILE, ${config}, or ./{default}.
"""

_EPILOG = """\
exit codes:
  0  done: the step was recorded, the check passed
  1  the check failed or the action did not succeed (verify: tampered or
     truncated; verify-recovery: not recovered; roll-back: the rollback failed)
  2  usage: a wrong option or value, a configuration that does not load
  3  wrong order: the protocol refused the step in the incident's phase
  4  the journal or the store could not be used (missing, corrupted, locked,
     already existing, another writer appended first)
  70 a defect: the command failed in a way it does not expect

examples:
  incidentkit show incident.jsonl
  incidentkit declare incident.jsonl --title "Checkout returns 5xx" --service checkout \\
      --detection alert --actor dana
  incidentkit list --store /var/lib/incidents --status open
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose error messages are inert and keep URLs' secrets masked."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the message (made inert, URLs masked), and exit 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {one_line(mask_urls(message))}\n")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _incident_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("the incident")
    group.add_argument(
        "journal", nargs="?", metavar="JOURNAL", help="the incident's journal file (.jsonl)"
    )
    group.add_argument(
        "--store",
        metavar="LOCATION",
        help=f"a store instead: a directory, or a postgresql:// URL (default: ${STORE_ENV})",
    )
    group.add_argument(
        "--incident", metavar="ID", help=f"the incident in the store (default: ${INCIDENT_ENV})"
    )
    return parent


def _output_options() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--json", action="store_true", help="print JSON for scripts instead of text for people"
    )
    return parent


def _step_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("the step")
    group.add_argument(
        "--actor", metavar="NAME", help="who takes the step (default: $INCIDENTKIT_ACTOR)"
    )
    group.add_argument(
        "--role", choices=[r.value for r in Role], help="the actor's role, recorded with the name"
    )
    group.add_argument(
        "--at",
        metavar="INSTANT",
        help="take the step at this instant instead of now (ISO 8601 with an offset, or Unix "
        "seconds): for replays and tabletop exercises; the journal still refuses time "
        "running backwards",
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        help=f"the configuration naming sources, executors and metrics (default: ${CONFIG_ENV}, "
        f"else ./{DEFAULT_CONFIG})",
    )
    return parent


def _sub(
    commands: argparse._SubParsersAction[_Parser],  # pyright: ignore[reportPrivateUsage]
    name: str,
    summary: str,
    example: str,
    parents: Sequence[_Parser],
    *,
    description: str = "",
) -> _Parser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=(description or summary),
        epilog="example:\n" + textwrap.indent(example, "  "),
        parents=list(parents),
        formatter_class=_formatter,
        allow_abbrev=False,
    )
    parser.set_defaults(command=name)
    return parser


def _values(
    kind: type[Severity | Detection | ChecklistItem | FindingKind | MitigationKind],
) -> list[str]:
    return [str(member.value) for member in kind]


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one declaration per command
    """Build the ``incidentkit`` command line."""
    from incidentkit._version import __version__  # noqa: PLC0415 - for --version only

    parser = _Parser(
        prog="incidentkit",
        description=_DESCRIPTION.format(
            store=STORE_ENV,
            incident=INCIDENT_ENV,
            config=CONFIG_ENV,
            default=DEFAULT_CONFIG,
        ),
        epilog=_EPILOG,
        formatter_class=_formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"incidentkit {__version__}")
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", parser_class=_Parser
    )
    commands.required = True
    incident, output, step = _incident_options(), _output_options(), _step_options()
    reading = (incident, output)
    driving = (incident, step, output)

    # --- inspecting -------------------------------------------------------------
    _sub(
        commands,
        "show",
        "the incident's phase, severity, impact, open checklist items and what comes next",
        "incidentkit show incident.jsonl",
        reading,
    )
    _sub(
        commands,
        "timeline",
        "changes, the symptom window and the incident's steps, in time order",
        "incidentkit timeline incident.jsonl",
        reading,
    )
    events = _sub(
        commands,
        "events",
        "the journal's events, filtered by type and actor; --follow watches for new ones",
        "incidentkit events incident.jsonl --type note_added --actor dana\n"
        "incidentkit events --store incidents/ --incident INC-42 --follow --json",
        reading,
    )
    events.add_argument(
        "--type", action="append", metavar="TYPE", help="only events of this type (repeatable)"
    )
    events.add_argument(
        "--actor", action="append", metavar="NAME", help="only events by this actor (repeatable)"
    )
    events.add_argument("--since", type=int, default=0, metavar="SEQ", help="from this seq on")
    events.add_argument(
        "--follow",
        action="store_true",
        help="after the events so far, print each new one as it lands (JSON: one object a line)",
    )
    events.add_argument(
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help="with --follow: stop after this long without a new event",
    )
    verify = _sub(
        commands,
        "verify",
        "check the journal's hash chain (and an anchor kept elsewhere): exit 0 intact, "
        "1 tampered or truncated, 2 usage",
        "incidentkit verify incident.jsonl --anchor 41:9f2c...",
        reading,
    )
    verify.add_argument(
        "--anchor",
        metavar="SEQ:DIGEST",
        help="the head kept elsewhere (a ticket, a chat message): detects truncation, and any "
        "rewrite up to it",
    )
    report = _sub(
        commands,
        "report",
        "the post-mortem report of a resolved incident",
        "incidentkit report incident.jsonl --format html -o postmortem.html",
        reading,
    )
    report.add_argument(
        "--format", choices=["md", "json", "html"], help="Markdown (default), JSON or HTML"
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)"
    )
    report.add_argument(
        "--full-timeline",
        action="store_true",
        help="every timeline entry and every finding, none folded (md and html; a huge "
        "incident's long runs of notes and repeats are folded by default)",
    )
    listing = _sub(
        commands,
        "list",
        "the incidents in a store, newest first",
        "incidentkit list incidents/ --status open --service checkout",
        (output,),
    )
    listing.add_argument(
        "location",
        nargs="?",
        metavar="STORE",
        help=f"a directory of journals, or a postgresql:// URL (default: ${STORE_ENV})",
    )
    listing.add_argument("--store", metavar="LOCATION", help="the same, as an option")
    listing.add_argument("--status", choices=["open", "resolved"])
    listing.add_argument("--service", metavar="NAME", help="only incidents affecting it")
    listing.add_argument("--severity", choices=_values(Severity))
    listing.add_argument("--declared-after", metavar="INSTANT")
    config = _sub(
        commands,
        "config",
        "the configuration's sources, executors and metrics (no secret shown), and the "
        "installed adapters",
        "incidentkit config --config incidentkit.toml --check",
        (output,),
    )
    config.add_argument("--config", metavar="FILE", help="the configuration file")
    config.add_argument(
        "--check",
        action="store_true",
        help="build every source and executor (environment variables read); exit 2 if one fails",
    )

    # --- driving ----------------------------------------------------------------
    declare = _sub(
        commands,
        "declare",
        "open the incident and its journal",
        "incidentkit declare incident.jsonl --title 'Checkout returns 5xx' --service checkout \\\n"
        "    --detection alert --detected-at 2026-11-20T14:09:00Z --actor dana",
        driving,
        description="Open the incident and its journal: a new journal file, or a new incident in "
        "a store "
        "(--incident ID chooses its id).",
    )
    declare.add_argument("--title", required=True)
    declare.add_argument(
        "--service", action="append", required=True, metavar="NAME", help="repeatable"
    )
    declare.add_argument("--detection", required=True, choices=_values(Detection))
    declare.add_argument("--detected-at", metavar="INSTANT", help="default: now")
    declare.add_argument("--summary")
    declare.add_argument(
        "--depends-on",
        action="append",
        metavar="SERVICE=DEP[,DEP]",
        help="what a service runs on, so that its changes rank as related (repeatable)",
    )

    def impact_options(parser: argparse.ArgumentParser, *, first: bool) -> None:
        state = parser.add_mutually_exclusive_group(required=first)
        state.add_argument("--ongoing", dest="ongoing", action="store_const", const=True)
        state.add_argument("--not-ongoing", dest="ongoing", action="store_const", const=False)
        parser.add_argument("--severity", choices=_values(Severity))
        parser.add_argument("--symptom-start", metavar="INSTANT")
        parser.add_argument("--service", action="append", metavar="NAME")
        parser.add_argument("--region", action="append", metavar="NAME")
        parser.add_argument("--segment", action="append", metavar="USERS")
        parser.add_argument(
            "--figure", action="append", metavar="NAME=VALUE[:UNIT]", help="a stated figure"
        )
        parser.add_argument("--summary")

    assess = _sub(
        commands,
        "assess",
        "record the impact: severity, whether ongoing, the figures (impact before cause)",
        "incidentkit assess incident.jsonl --actor dana --ongoing --errors errors \\\n"
        "    --traffic traffic --slo 0.999 --measure peak_error_ratio=errors:max\n"
        "incidentkit assess incident.jsonl --actor dana --ongoing --bad errors_1m \\\n"
        "    --total requests_1m --slo 0.999\n"
        "incidentkit assess incident.jsonl --actor dana --ongoing --fast le_300ms \\\n"
        "    --total requests_1m --latency-threshold 0.3 --slo 0.99\n"
        "incidentkit assess incident.jsonl --actor dana --ongoing --threshold-metric p99 \\\n"
        "    --above 0.5",
        driving,
    )
    impact_options(assess, first=True)
    add_objective_options(assess, recovery=False)
    assess.add_argument("--users", metavar="METRIC", help="a configured metric of affected users")
    assess.add_argument("--slo", type=float, help="the availability target, such as 0.999")
    assess.add_argument(
        "--measure",
        action="append",
        metavar="NAME=METRIC[:REDUCE]",
        help="a figure measured from a configured metric (max, mean, last or min)",
    )
    assess.add_argument("--timeout", type=float, metavar="SECONDS")
    update = _sub(
        commands,
        "update-impact",
        "escalate, de-escalate, say the impact ended, restate figures",
        "incidentkit update-impact incident.jsonl --actor dana --severity sev1 "
        "--reason 'US fails too'",
        driving,
    )
    impact_options(update, first=False)
    update.add_argument("--reason", required=True)
    gather = _sub(
        commands,
        "gather",
        "gather what changed around the symptom from the configured sources",
        "incidentkit gather incident.jsonl --actor sam --deploys spinnaker --dependencies stripe",
        driving,
        description="Gather what changed around the symptom. Without --deploys, "
        "--infrastructure or "
        "--dependencies, every configured source of those kinds is asked.",
    )
    gather.add_argument("--deploys", action="append", metavar="SOURCE")
    gather.add_argument("--infrastructure", action="append", metavar="SOURCE")
    gather.add_argument("--dependencies", action="append", metavar="SOURCE")
    gather.add_argument("--lookback", type=float, metavar="SECONDS", help="default: 6 hours")
    gather.add_argument("--only-service", action="append", metavar="NAME")
    gather.add_argument("--timeout", type=float, metavar="SECONDS")
    review = _sub(
        commands,
        "review",
        "review the rollback options and their caveats (before any intervention)",
        "incidentkit review incident.jsonl --actor sam --executor rollback",
        driving,
    )
    review.add_argument(
        "--executor", action="append", metavar="NAME", help="default: every configured executor"
    )
    review.add_argument("--timeout", type=float, metavar="SECONDS")
    review.add_argument(
        "--skip", action="store_true", help="skip the review (an override: needs --reason)"
    )
    review.add_argument("--reason")
    roll_back = _sub(
        commands,
        "roll-back",
        "roll a change back through an executor, rehearsed first",
        "incidentkit roll-back incident.jsonl --change deploy-4812 --actor sam",
        driving,
    )
    roll_back.add_argument("--option", metavar="ID", help="the option's id, as review lists it")
    roll_back.add_argument("--change", metavar="CHANGE_ID", help="or the change it rolls back")
    roll_back.add_argument(
        "--executor", metavar="NAME", help="default: the configured executor that offered it"
    )
    roll_back.add_argument("--no-rehearse", action="store_true", help="skip the dry run")
    roll_back.add_argument("--timeout", type=float, metavar="SECONDS")
    mitigate = _sub(
        commands,
        "mitigate",
        "record an intervention other than a rollback, and why not a rollback",
        "incidentkit mitigate incident.jsonl --action 'turned off flag new-geo' \\\n"
        "    --kind feature_flag_off --why-not-rollback 'the flag is faster' --actor sam",
        driving,
    )
    mitigate.add_argument("--action", required=True)
    mitigate.add_argument("--why-not-rollback", required=True)
    mitigate.add_argument("--kind", choices=_values(MitigationKind), default="other")
    verify_recovery = _sub(
        commands,
        "verify-recovery",
        "decide from monitoring whether the symptom is gone: exit 0 recovered, 1 not shown",
        "incidentkit verify-recovery incident.jsonl --actor sam --errors errors --traffic traffic\n"
        "incidentkit verify-recovery incident.jsonl --actor sam --bad errors_1m \\\n"
        "    --total requests_1m\n"
        "incidentkit verify-recovery incident.jsonl --actor sam --threshold-metric queue_depth \\\n"
        "    --above 500",
        driving,
    )
    add_objective_options(verify_recovery, recovery=True)
    verify_recovery.add_argument(
        "--baseline", type=float, metavar="SECONDS", help="default: 1 hour before the symptom"
    )
    verify_recovery.add_argument(
        "--hold", type=float, metavar="SECONDS", help="how long health must hold (default: 600)"
    )
    verify_recovery.add_argument("--timeout", type=float, metavar="SECONDS")
    diagnose = _sub(
        commands,
        "diagnose",
        "begin the diagnosis, after verified recovery (or --without-recovery, an override)",
        "incidentkit diagnose incident.jsonl --actor dana",
        driving,
    )
    diagnose.add_argument("--without-recovery", action="store_true")
    diagnose.add_argument("--reason")
    hypothesis = _sub(
        commands,
        "hypothesis",
        "record a hypothesis about the cause, tied to evidence",
        "incidentkit hypothesis incident.jsonl --statement 'v2.14.0 broke checkout' \\\n"
        "    --evidence change:deploy-4812 --actor dana",
        driving,
    )
    hypothesis.add_argument("--statement", required=True)
    hypothesis.add_argument(
        "--evidence",
        action="append",
        required=True,
        metavar="KIND:REF",
        help="change:ID, entry:SEQ, metric:QUERY, link:URL or text:... (repeatable)",
    )
    reject = _sub(
        commands,
        "reject-hypothesis",
        "rule a hypothesis out, with the reason",
        "incidentkit reject-hypothesis incident.jsonl --hypothesis H1 --reason '...' --actor dana",
        driving,
    )
    reject.add_argument("--hypothesis", dest="hypothesis_id", required=True, metavar="ID")
    reject.add_argument("--reason", required=True)
    check = _sub(
        commands,
        "check",
        "check a usual suspect against the sources that answered",
        "incidentkit check incident.jsonl --item deploys --conclusion 'deploy-4812 came first' "
        "--actor dana",
        driving,
    )
    check.add_argument("--item", required=True, choices=_values(ChecklistItem))
    check.add_argument("--conclusion", required=True)
    waive = _sub(
        commands,
        "waive",
        "waive a usual suspect, with the reason",
        "incidentkit waive incident.jsonl --item infrastructure --reason 'no change' --actor dana",
        driving,
    )
    waive.add_argument("--item", required=True, choices=_values(ChecklistItem))
    waive.add_argument("--reason", required=True)
    resolve = _sub(
        commands,
        "resolve",
        "resolve the incident with its root cause and the evidence",
        "incidentkit resolve incident.jsonl --root-cause 'checkout v2.14.0' \\\n"
        "    --evidence change:deploy-4812 --actor dana",
        driving,
    )
    resolve.add_argument("--root-cause", required=True)
    resolve.add_argument("--evidence", action="append", required=True, metavar="KIND:REF")
    note = _sub(
        commands,
        "note",
        "write down an observation (every phase)",
        "incidentkit note incident.jsonl --text 'EU traffic drained' --actor carol",
        driving,
    )
    note.add_argument("--text", required=True)
    finding = _sub(
        commands,
        "finding",
        "record a finding for the post-mortem",
        "incidentkit finding incident.jsonl --summary 'no alert on p99' --kind monitoring_gap "
        "--actor dana",
        driving,
    )
    finding.add_argument("--summary", required=True)
    finding.add_argument("--detail")
    finding.add_argument("--kind", choices=_values(FindingKind), default="observation")
    hand_over = _sub(
        commands,
        "hand-over",
        "hand a role to another responder",
        "incidentkit hand-over incident.jsonl --to-role incident_commander --to carol --actor dana",
        driving,
    )
    hand_over.add_argument(
        "--to-role", dest="role_name", required=True, choices=[r.value for r in Role]
    )
    hand_over.add_argument("--to", required=True, metavar="NAME")
    hand_over.add_argument("--note")
    follow_up = _sub(
        commands,
        "follow-up",
        "add an action item with an owner (also after resolution)",
        "incidentkit follow-up incident.jsonl --action 'canary checkout' --owner mei --actor dana",
        driving,
    )
    follow_up.add_argument("--action", required=True)
    follow_up.add_argument("--owner", required=True)
    follow_up.add_argument("--notes")
    correct = _sub(
        commands,
        "correct-clock",
        "record that the clock was wrong and time goes on from an earlier instant",
        "incidentkit correct-clock incident.jsonl --reason 'my laptop was 5 min fast' --actor dana",
        driving,
    )
    correct.add_argument("--reason", required=True)
    return parser
