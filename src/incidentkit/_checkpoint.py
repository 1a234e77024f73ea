"""Checkpoints: the folded state of an incident, kept compactly beside its journal file.

A checkpoint names the anchor (seq and digest) of the record it was folded at
and, for every part of the state the steps read, the sequence numbers of the
records that part comes from: the impact's event, the review, the
interventions, each hypothesis, each checklist item, each gathered change (the
record and its index in it)... Only two values are not records: the widest
lookback gathered and the sources consulted per checklist item. A resume that
uses it verifies the whole chain as always, checks that the record at the
checkpoint's seq has the checkpoint's digest, rebuilds those few events from
the (verified) records they name, checks that each is the kind of event its
part needs, and folds only the records after the checkpoint through the
protocol's rules. The events before the checkpoint and the findings are read
when first asked for, by a full fold of those records, which must agree with
the checkpoint; the first append does the same before anything is written.

Anything that does not fit (no file, a broken checksum, another journal or a
rewritten history, a journal shorter than the checkpoint, contents of the
wrong shape) falls back to the full fold with a :class:`CheckpointWarning`
saying why. See ``docs/journal.md``, "Checkpoints".
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import warnings
from typing import TYPE_CHECKING, Any, Final, cast

from incidentkit._chain import MAX_RECORD_BYTES, encode_body, parse_body
from incidentkit._errors import CheckpointWarning, InvalidInputError, JournalCorruptedError
from incidentkit._events import (
    ChangesGathered,
    ChecklistItemChecked,
    ChecklistItemWaived,
    ClockCorrected,
    DiagnosisBegun,
    Event,
    FollowUpAdded,
    HypothesisRecorded,
    HypothesisRejected,
    ImpactAssessed,
    ImpactUpdated,
    IncidentDeclared,
    IncidentResolved,
    MitigationApplied,
    OverrideRecorded,
    RecoveryChecked,
    RoleHandedOver,
    RollbackExecuted,
    RollbacksReviewed,
    structure_owned,
)
from incidentkit._model import ChecklistItem
from incidentkit._rules import OVERRIDE_TARGETS
from incidentkit._state import IncidentState

if TYPE_CHECKING:
    from collections.abc import Callable

    from incidentkit._chain import RecordLines
    from incidentkit._rules import Phase

__all__ = ["CHECKPOINT_SUFFIX", "checkpoint_path", "restore", "snapshot", "write_checkpoint"]

CHECKPOINT_SUFFIX: Final = ".checkpoint"
_KIND: Final = "incidentkit.checkpoint"
_VERSION: Final = 1
_SEQ_DIGITS: Final = 19  # more digits than any journal's seq
_MAX_BYTES: Final = MAX_RECORD_BYTES  # a checkpoint larger than a record is not one of ours

_SINGLE: Final = ("impact_event", "impact", "phase", "review", "resolution")
_LISTS: Final = (
    "interventions",
    "checks",
    "overrides",
    "impact_updates",
    "handovers",
    "follow_ups",
    "clock_corrections",
)
_MAPS: Final = ("hypotheses", "rejected", "checklist")

# What each reference must point at: the event types its part of the state holds.
_TYPES: Final[dict[str, tuple[type[Event], ...]]] = {
    "impact_event": (ImpactAssessed,),
    "impact": (ImpactAssessed, ImpactUpdated),
    "phase": (
        ImpactAssessed,
        RollbacksReviewed,
        RollbackExecuted,
        MitigationApplied,
        RecoveryChecked,
        OverrideRecorded,
        DiagnosisBegun,
        IncidentResolved,
    ),
    "review": (RollbacksReviewed,),
    "resolution": (IncidentResolved,),
    "interventions": (RollbackExecuted, MitigationApplied),
    "checks": (RecoveryChecked,),
    "overrides": (OverrideRecorded,),
    "impact_updates": (ImpactUpdated,),
    "handovers": (RoleHandedOver,),
    "follow_ups": (FollowUpAdded,),
    "clock_corrections": (ClockCorrected,),
    "hypotheses": (HypothesisRecorded,),
    "rejected": (HypothesisRejected,),
    "checklist": (ChecklistItemChecked, ChecklistItemWaived),
    "changes": (ChangesGathered,),
}


class CheckpointMismatch(Exception):  # noqa: N818 - internal: why a checkpoint is not used
    """A checkpoint that cannot be used; the message says why (never quoting its contents)."""


def checkpoint_path(journal: pathlib.Path) -> pathlib.Path:
    """Return where a journal file's checkpoint is kept: ``<name>.checkpoint`` beside it."""
    return journal.with_name(journal.name + CHECKPOINT_SUFFIX)


# -- writing -----------------------------------------------------------------


def _phase_of(event: Event) -> Phase | None:  # noqa: PLR0911 - one arm per event type
    """The phase an event moves the incident to, or ``None`` (as ``IncidentState.apply``)."""
    from incidentkit._recovery import RecoveryOutcome  # noqa: PLC0415 - with the verdicts

    match event:
        case ImpactAssessed():
            return "assessed"
        case RollbacksReviewed():
            return "reviewed"
        case RollbackExecuted():
            return "intervened" if event.succeeded else None
        case MitigationApplied():
            return "intervened"
        case RecoveryChecked():
            return "recovered" if event.verdict.outcome is RecoveryOutcome.RECOVERED else None
        case OverrideRecorded():
            return OVERRIDE_TARGETS[event.step]
        case DiagnosisBegun():
            return "diagnosing"
        case IncidentResolved():
            return "resolved"
        case _:
            return None


def snapshot(state: IncidentState) -> dict[str, Any]:  # noqa: C901, PLR0912 - one arm per part
    """Return the checkpoint of a fully folded state: references to records, and two values."""
    single: dict[str, int] = {}
    lists: dict[str, list[int]] = {name: [] for name in _LISTS}
    maps: dict[str, dict[str, int]] = {name: {} for name in _MAPS}
    changes: dict[tuple[str, str], list[int]] = {}
    for seq, event in enumerate(state.events):
        if _phase_of(event) is not None:
            single["phase"] = seq
        match event:
            case ImpactAssessed():
                single["impact_event"] = single["impact"] = seq
            case ImpactUpdated():
                single["impact"] = seq
                lists["impact_updates"].append(seq)
            case ChangesGathered():
                for index, change in enumerate(event.changes):
                    changes[change.source, change.id] = [seq, index]
            case RollbacksReviewed():
                single["review"] = seq
            case RollbackExecuted() | MitigationApplied():
                lists["interventions"].append(seq)
            case RecoveryChecked():
                lists["checks"].append(seq)
            case OverrideRecorded():
                lists["overrides"].append(seq)
            case HypothesisRecorded():
                maps["hypotheses"][event.hypothesis_id] = seq
            case HypothesisRejected():
                maps["rejected"][event.hypothesis_id] = seq
            case ChecklistItemChecked() | ChecklistItemWaived():
                maps["checklist"][event.item.value] = seq
            case IncidentResolved():
                single["resolution"] = seq
            case RoleHandedOver():
                lists["handovers"].append(seq)
            case FollowUpAdded():
                lists["follow_ups"].append(seq)
            case ClockCorrected():
                lists["clock_corrections"].append(seq)
            case _:
                pass
    return {
        "count": state.count,
        "single": single,
        "lists": lists,
        "maps": maps,
        "changes": list(changes.values()),
        "lookback": state.lookback,
        "consulted": {item.value: list(sources) for item, sources in state.consulted.items()},
    }


def _checksum(anchor: str, state: dict[str, Any]) -> str:
    from incidentkit._chain import _sha256  # noqa: PLC0415 # pyright: ignore[reportPrivateUsage]

    return cast("str", _sha256()(encode_body({"anchor": anchor, "state": state})).hexdigest())


def encode_checkpoint(anchor: str, state: dict[str, Any]) -> bytes:
    """Return a checkpoint file's bytes: its anchor, a SHA-256 of it and the state, the state."""
    return encode_body(
        {
            "kind": _KIND,
            "v": _VERSION,
            "anchor": anchor,
            "sha256": _checksum(anchor, state),
            "state": state,
        }
    )


def write_checkpoint(path: pathlib.Path, data: bytes) -> None:
    """Write a checkpoint atomically: a fsynced temporary renamed over ``path``.

    A checkpoint is a cache, so it may replace an older one; a kill leaves the
    old one or the new one, never a mix (and a leftover temporary, ignored).
    """
    temp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(path)
        dir_fd = os.open(path.absolute().parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        from incidentkit._errors import JournalError  # noqa: PLC0415 - on failure only

        msg = f"cannot write the checkpoint {path}: {exc.strerror or exc}"
        raise JournalError(msg, path=str(path)) from exc


# -- reading -----------------------------------------------------------------


def _int(value: object, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        msg = f"{what} is not a record number from {low} to {high}"
        raise CheckpointMismatch(msg)
    return value


def _load(path: pathlib.Path) -> tuple[str, dict[str, Any]]:
    """Read a checkpoint file: its anchor text and its state, checksum checked."""
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        msg = "there is no checkpoint file"
        raise CheckpointMismatch(msg) from None
    except OSError as exc:
        msg = f"the checkpoint cannot be read ({exc.strerror or type(exc).__name__})"
        raise CheckpointMismatch(msg) from None
    if len(data) > _MAX_BYTES:
        msg = f"the checkpoint is larger than {_MAX_BYTES:,} bytes"
        raise CheckpointMismatch(msg)
    try:
        fields: object = parse_body(data, -1)
    except ValueError:
        msg = "the checkpoint is not a JSON object"
        raise CheckpointMismatch(msg) from None
    fields = cast("dict[str, object]", fields)
    if fields.keys() != {"kind", "v", "anchor", "sha256", "state"} or fields["kind"] != _KIND:
        msg = "the file is not an incidentkit checkpoint"
        raise CheckpointMismatch(msg)
    if fields["v"] != _VERSION or type(fields["v"]) is not int:
        msg = f"the checkpoint's format is not version {_VERSION}"
        raise CheckpointMismatch(msg)
    anchor, state = fields["anchor"], fields["state"]
    if not isinstance(anchor, str) or not isinstance(state, dict):
        msg = "the checkpoint's anchor or state is of the wrong type"
        raise CheckpointMismatch(msg)
    state = cast("dict[str, Any]", state)
    try:
        checksum = _checksum(anchor, state)
    except InvalidInputError:
        checksum = ""
    if fields["sha256"] != checksum:
        msg = "the checkpoint's checksum does not match its contents: it was changed or damaged"
        raise CheckpointMismatch(msg)
    return anchor, state


def _refs(state: dict[str, Any], last: int) -> dict[str, Any]:  # noqa: C901, PLR0912 - per part
    """Check the shape of a checkpoint's state; every record number from 0 to ``last``."""
    expected = {"count", "single", "lists", "maps", "changes", "lookback", "consulted"}
    if state.keys() != expected or _int(state["count"], 1, last + 1, "count") != last + 1:
        msg = "the checkpoint's state is not of the expected shape"
        raise CheckpointMismatch(msg)
    single, lists, maps = state["single"], state["lists"], state["maps"]
    if (
        not isinstance(single, dict)
        or not set(cast("dict[str, object]", single)) <= set(_SINGLE)
        or not isinstance(lists, dict)
        or set(cast("dict[str, object]", lists)) != set(_LISTS)
        or not isinstance(maps, dict)
        or set(cast("dict[str, object]", maps)) != set(_MAPS)
        or not isinstance(state["changes"], list)
    ):
        msg = "the checkpoint's references are not of the expected shape"
        raise CheckpointMismatch(msg)
    for name, seq in cast("dict[str, object]", single).items():
        _int(seq, 1, last, name)
    for name, seqs in cast("dict[str, object]", lists).items():
        if not isinstance(seqs, list):
            msg = f"{name} is not a list"
            raise CheckpointMismatch(msg)
        checked = [_int(seq, 1, last, name) for seq in cast("list[object]", seqs)]
        if checked != sorted(set(checked)):
            msg = f"{name} is not in journal order"
            raise CheckpointMismatch(msg)
    for name, table in cast("dict[str, object]", maps).items():
        if not isinstance(table, dict):
            msg = f"{name} is not a table"
            raise CheckpointMismatch(msg)
        for seq in cast("dict[str, object]", table).values():
            _int(seq, 1, last, name)
    for ref in cast("list[object]", state["changes"]):
        if not isinstance(ref, list) or len(cast("list[object]", ref)) != 2:  # noqa: PLR2004
            msg = "a change reference is not [seq, index]"
            raise CheckpointMismatch(msg)
        seq, index = cast("list[object]", ref)
        _int(seq, 1, last, "a change's record")
        _int(index, 0, MAX_RECORD_BYTES, "a change's index")
    lookback = state["lookback"]
    if lookback is not None and (type(lookback) not in {int, float}):
        msg = "the lookback is not a number"
        raise CheckpointMismatch(msg)
    consulted = state["consulted"]
    items = {item.value for item in ChecklistItem}
    if (
        not isinstance(consulted, dict)
        or set(cast("dict[str, object]", consulted)) != items
        or not all(
            isinstance(sources, list)
            and all(isinstance(s, str) for s in cast("list[object]", sources))
            for sources in cast("dict[str, object]", consulted).values()
        )
    ):
        msg = "the sources consulted are not of the expected shape"
        raise CheckpointMismatch(msg)
    return state


class _Records:
    """The events a checkpoint names, each structured once from its verified record."""

    def __init__(self, lines: RecordLines) -> None:
        self._lines = lines
        self._events: dict[int, Event] = {}

    def get(self, seq: int, part: str | None) -> Event:
        event = self._events.get(seq)
        if event is None:
            try:
                event = structure_owned(parse_body(self._lines.body(seq), seq))
            except Exception as exc:  # any failure: the full fold reports it properly
                msg = f"record {seq}, named for {part}, is not a valid event"
                raise CheckpointMismatch(msg) from exc
            self._events[seq] = event
        if part is not None and not isinstance(event, _TYPES[part]):
            msg = f"record {seq} is a {event.TYPE} event, which {part} cannot be"
            raise CheckpointMismatch(msg)
        return event


def _build(  # noqa: C901, PLR0912, PLR0915 - one step per part
    declared: IncidentDeclared, state: dict[str, Any], lines: RecordLines, last: int
) -> IncidentState:
    """Rebuild the state a checkpoint describes from the records it names."""
    records = _Records(lines)
    out = IncidentState(declared)
    out.start_after(last + 1, records.get(last, None).at if last else declared.at)
    single = cast("dict[str, int]", state["single"])
    if "phase" in single:
        moved = _phase_of(records.get(single["phase"], "phase"))
        if moved is None:
            msg = "the record named for the phase does not move the incident on"
            raise CheckpointMismatch(msg)
        out.phase = moved
    if "impact_event" in single:
        out.impact_event = cast(
            "ImpactAssessed", records.get(single["impact_event"], "impact_event")
        )
    if "impact" in single:
        out.impact = cast(
            "ImpactAssessed | ImpactUpdated", records.get(single["impact"], "impact")
        ).impact
    if "review" in single:
        out.review = cast("RollbacksReviewed", records.get(single["review"], "review"))
    if "resolution" in single:
        out.resolution = cast("IncidentResolved", records.get(single["resolution"], "resolution"))
    lists = cast("dict[str, list[int]]", state["lists"])
    out.interventions = [
        cast("RollbackExecuted | MitigationApplied", records.get(seq, "interventions"))
        for seq in lists["interventions"]
    ]
    out.checks = [cast("RecoveryChecked", records.get(seq, "checks")) for seq in lists["checks"]]
    out.overrides = [
        cast("OverrideRecorded", records.get(seq, "overrides")) for seq in lists["overrides"]
    ]
    out.impact_updates = [
        (seq, cast("ImpactUpdated", records.get(seq, "impact_updates")))
        for seq in lists["impact_updates"]
    ]
    out.handovers = [
        (seq, cast("RoleHandedOver", records.get(seq, "handovers"))) for seq in lists["handovers"]
    ]
    for _seq, handover in out.handovers:
        out.roles[handover.role] = handover.to
    out.follow_ups = [
        (seq, cast("FollowUpAdded", records.get(seq, "follow_ups"))) for seq in lists["follow_ups"]
    ]
    out.clock_corrections = [
        (seq, cast("ClockCorrected", records.get(seq, "clock_corrections")))
        for seq in lists["clock_corrections"]
    ]
    maps = cast("dict[str, dict[str, int]]", state["maps"])
    for key, seq in maps["hypotheses"].items():
        event = cast("HypothesisRecorded", records.get(seq, "hypotheses"))
        if event.hypothesis_id != key:
            msg = f"record {seq} is not the hypothesis it is named for"
            raise CheckpointMismatch(msg)
        out.hypotheses[key] = event
    for key, seq in maps["rejected"].items():
        rejected = cast("HypothesisRejected", records.get(seq, "rejected"))
        if rejected.hypothesis_id != key:
            msg = f"record {seq} is not the rejection it is named for"
            raise CheckpointMismatch(msg)
        out.rejected[key] = rejected
    for key, seq in maps["checklist"].items():
        ticked = cast("ChecklistItemChecked | ChecklistItemWaived", records.get(seq, "checklist"))
        if ticked.item.value != key:
            msg = f"record {seq} is not the checklist item it is named for"
            raise CheckpointMismatch(msg)
        out.checklist[ticked.item] = ticked
    for seq, index in cast("list[list[int]]", state["changes"]):
        gathered = cast("ChangesGathered", records.get(seq, "changes")).changes
        if index >= len(gathered):
            msg = f"record {seq} gathered no change {index}"
            raise CheckpointMismatch(msg)
        change = gathered[index]
        out.changes[change.source, change.id] = change
    out.lookback = None if state["lookback"] is None else float(state["lookback"])
    for item in ChecklistItem:
        out.consulted[item] = list(cast("dict[str, list[str]]", state["consulted"])[item.value])
    return out


def _anchored(anchor: str, lines: RecordLines) -> int:
    """Return the seq a checkpoint was folded at, if the journal holds that very record."""
    seq_text, _sep, digest = anchor.partition(":")
    if not (seq_text.isdecimal() and seq_text.isascii() and len(seq_text) < _SEQ_DIGITS):
        msg = "the checkpoint's anchor is not '<seq>:<digest>'"
        raise CheckpointMismatch(msg)
    last = int(seq_text)
    if last >= len(lines):
        msg = (
            f"the checkpoint was folded at seq {last} but the journal ends at seq "
            f"{len(lines) - 1}: it belongs to another journal, or records were cut"
        )
        raise CheckpointMismatch(msg)
    if lines.digest(last) != digest:
        msg = (
            f"the record at the checkpoint's seq {last} is not the one it was folded at: "
            "it belongs to another journal, or the journal was rewritten"
        )
        raise CheckpointMismatch(msg)
    return last


def restore(
    journal: pathlib.Path,
    lines: RecordLines,
    declared: IncidentDeclared,
    full_fold: Callable[[int], IncidentState],
) -> IncidentState | None:
    """Rebuild the state from the checkpoint beside ``journal``, or ``None`` (with a warning).

    ``lines`` are the journal's verified records; ``full_fold(count)`` folds
    records 0 to ``count - 1`` through the protocol's rules, for the events
    before the checkpoint when they are first asked for.
    """
    path = checkpoint_path(journal)
    try:
        anchor_text, state = _load(path)
        last = _anchored(anchor_text, lines)
        restored = _build(declared, _refs(state, last), lines, last)
    except CheckpointMismatch as exc:
        warnings.warn(
            f"the checkpoint {path} was not used ({exc}); the whole journal was folded "
            "instead. Write a new one with save_checkpoint() on the phase resumed.",
            CheckpointWarning,
            stacklevel=4,
        )
        return None

    def check_prefix(live: IncidentState) -> None:
        prefix = full_fold(last + 1)
        if snapshot(prefix) != state:
            msg = (
                f"the checkpoint {path} does not agree with the journal's records up to seq "
                f"{last}: the state resumed from it was wrong. Delete the checkpoint and "
                "resume again (the journal itself verified)."
            )
            raise JournalCorruptedError(msg, path=str(path))
        live.take_history(prefix)

    restored.pending = check_prefix
    return restored
