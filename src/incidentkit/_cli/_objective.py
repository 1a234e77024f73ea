"""The objective ``assess`` and ``verify-recovery`` judge: an error ratio, counts, or a threshold.

One table drives the options, their checks and the messages: each kind of
objective has the option that names it (``--errors``, ``--bad``, ``--fast``,
``--threshold-metric``; at most one), the options it needs and the ones it
refuses. The metrics are named from the configuration (``[metrics.NAME]``);
the numbers (``--latency-threshold``, ``--above``) are checked finite when
the command line is read. Every value shown in a message is quoted with
``repr``, and the command prints messages on one inert line.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Callable, Mapping
from typing import Final, Literal

import attrs
from typing_extensions import assert_never

from incidentkit._cli._common import number, text
from incidentkit._cli._errors import CliError
from incidentkit._specs import (
    TIME_UNITS,
    Counts,
    ErrorSpec,
    LatencyCounts,
    Metric,
    Threshold,
)

__all__ = [
    "OBJECTIVES",
    "Kind",
    "Objective",
    "add_objective_options",
    "objective",
    "objective_kind",
]

Kind = Literal["ratio", "counts", "latency", "threshold"]


@attrs.frozen
class Objective:
    """One kind of objective: the option naming it, what it needs, what it refuses."""

    kind: Kind
    option: str
    spec: str
    needs: tuple[str, ...]
    shape: str


OBJECTIVES: Final[tuple[Objective, ...]] = (
    Objective("ratio", "--errors", "Metric", (), "--errors METRIC (an error ratio, 0 to 1)"),
    Objective("counts", "--bad", "Counts", ("--total",), "--bad METRIC --total METRIC"),
    Objective(
        "latency",
        "--fast",
        "LatencyCounts",
        ("--total", "--latency-threshold"),
        "--fast METRIC --total METRIC --latency-threshold SECONDS",
    ),
    Objective(
        "threshold",
        "--threshold-metric",
        "Threshold",
        ("--above",),
        "--threshold-metric METRIC --above VALUE",
    ),
)
"""The objectives, in the order the help and the messages list them."""

_BY_KIND: Final[Mapping[Kind, Objective]] = {o.kind: o for o in OBJECTIVES}
_DEST: Final[Mapping[str, str]] = {
    "--errors": "errors",
    "--bad": "bad",
    "--fast": "fast",
    "--threshold-metric": "threshold_metric",
    "--total": "total",
    "--latency-threshold": "latency_threshold",
    "--above": "above",
    "--traffic": "traffic",
}
_SHAPES: Final = "; ".join(o.shape for o in OBJECTIVES)


def _finite(value: str) -> float:
    """Read a finite number (argparse's type): ``nan`` and ``inf`` are refused."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        msg = f"expected a finite number, not {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def add_objective_options(parser: argparse.ArgumentParser, *, recovery: bool) -> None:
    """Declare the objective's options on ``assess`` (``recovery=False``) or ``verify-recovery``.

    The naming options are one mutually exclusive group (required by
    ``verify-recovery``); the options each one needs are checked by
    :func:`objective_kind`.
    """
    group = parser.add_argument_group(
        "the objective",
        textwrap.fill(
            "one of: " + _SHAPES + ". The metrics are [metrics.NAME] tables of the configuration.",
            width=78,
        ),
    )
    naming = group.add_mutually_exclusive_group(required=recovery)
    naming.add_argument(
        "--errors", metavar="METRIC", help="an error ratio (0 to 1), higher is worse"
    )
    naming.add_argument(
        "--bad", metavar="METRIC", help="bad requests per step, counted (increase() over the step)"
    )
    naming.add_argument(
        "--fast",
        metavar="METRIC",
        help="requests at or under --latency-threshold per step (a histogram's le bucket)",
    )
    naming.add_argument(
        "--threshold-metric",
        metavar="METRIC",
        help="a gauge (a p99 in seconds, a queue depth): a sample above --above is bad",
    )
    group.add_argument(
        "--total", metavar="METRIC", help="with --bad or --fast: all requests per step"
    )
    group.add_argument(
        "--latency-threshold",
        type=_finite,
        metavar="SECONDS",
        help="with --fast: the latency threshold, the bucket's le",
    )
    group.add_argument(
        "--above",
        type=_finite,
        metavar="VALUE",
        help="with --threshold-metric: the threshold, in the gauge's unit",
    )
    traffic = (
        "the request rate: needed with --errors, optional with --threshold-metric (without "
        "it traffic is not checked), not taken with counts (their total is the traffic)"
        if recovery
        else "the request rate, to weight the errors (with counts: their total unless given)"
    )
    group.add_argument("--traffic", metavar="METRIC", help=traffic)


def _given(args: argparse.Namespace, option: str) -> bool:
    return getattr(args, _DEST[option], None) is not None


def objective_kind(args: argparse.Namespace, *, recovery: bool) -> Kind | None:
    """Return the kind of objective the options name, after checking they fit together.

    Raises:
        CliError: A needed option is missing, or one is given that the
            objective does not take (exit 2, as the command's usage errors).
    """
    named = [o for o in OBJECTIVES if _given(args, o.option)]
    if len(named) > 1:  # pragma: no cover - argparse's exclusive group refuses it first
        raise CliError(f"give one objective, not {' and '.join(o.option for o in named)}")
    chosen = named[0] if named else None
    for option in ("--total", "--latency-threshold", "--above"):
        if _given(args, option) and (chosen is None or option not in chosen.needs):
            takers = " or ".join(o.option for o in OBJECTIVES if option in o.needs)
            raise CliError(
                f"{option} goes with {takers}"
                + ("" if chosen is None else f", not with {chosen.option}"),
                hint=f"the objectives: {_SHAPES}",
            )
    if chosen is None:
        if _given(args, "--traffic") and recovery:  # pragma: no cover - the group is required
            raise CliError("--traffic needs an objective")
        return None
    missing = [option for option in chosen.needs if not _given(args, option)]
    if chosen.kind == "ratio" and recovery and not _given(args, "--traffic"):
        missing.append("--traffic")
    if missing:
        raise CliError(
            f"{chosen.option} needs {' and '.join(missing)}",
            hint=f"the objectives: {_SHAPES}",
        )
    if recovery and chosen.kind in {"counts", "latency"} and _given(args, "--traffic"):
        raise CliError(
            f"{chosen.option} takes no --traffic: the counts' --total is the traffic, judged "
            "over the hold"
        )
    return chosen.kind


def objective(
    args: argparse.Namespace, kind: Kind | None, metric: Callable[[str], Metric]
) -> ErrorSpec | None:
    """Build the objective of kind ``kind`` from the options, the metrics named by ``metric``."""
    if kind is None:
        return None
    if kind == "ratio":
        errors = metric(str(text(args, "errors")))
        _refuse_duration(errors, str(text(args, "errors")))
        return errors
    if kind == "counts":
        return _spec(
            lambda: Counts(metric(str(text(args, "bad"))), metric(str(text(args, "total")))),
            _BY_KIND[kind],
        )
    if kind == "latency":
        threshold = number(args, "latency_threshold")
        assert threshold is not None  # noqa: S101 - checked by objective_kind
        return _spec(
            lambda: LatencyCounts(
                metric(str(text(args, "fast"))),
                metric(str(text(args, "total"))),
                threshold=threshold,
            ),
            _BY_KIND[kind],
        )
    if kind == "threshold":
        above = number(args, "above")
        assert above is not None  # noqa: S101 - checked by objective_kind
        return _spec(
            lambda: Threshold(metric(str(text(args, "threshold_metric"))), above=above),
            _BY_KIND[kind],
        )
    assert_never(kind)


def _spec(build: Callable[[], ErrorSpec], which: Objective) -> ErrorSpec:
    """Build a spec; the library's refusal of its values is a usage error naming the options."""
    from incidentkit._errors import InvalidInputError  # noqa: PLC0415 - the library's own

    try:
        return build()
    except InvalidInputError as exc:
        raise CliError(f"{which.shape}: {exc}") from None


def _refuse_duration(errors: Metric, name: str) -> None:
    """Refuse ``--errors`` naming a metric in a unit of time, naming the options to use instead."""
    if errors.unit.strip().lower() in TIME_UNITS:
        raise CliError(
            f"--errors {name!r} is in {errors.unit!r}, a duration, not an error ratio (0 to 1)",
            hint=(
                "for a latency objective give --fast BUCKET --total COUNT --latency-threshold "
                "SECONDS (a histogram), or, when only this series exists, --threshold-metric "
                f"{name} --above SECONDS"
            ),
        )
