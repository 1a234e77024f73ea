"""Shared Hypothesis strategies for the incidentkit tests."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import attrs
import pendulum
from hypothesis import strategies as st

from incidentkit import Change, ChangeKind, MetricQuery, RecoveryPolicy, Sample, Series
from incidentkit.analysis import SuspectPolicy

T0 = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")

HEALTHY_VALUE = 0.0
"""An error value every policy below counts as healthy (at or below any threshold)."""
BAD_VALUE = 1.0
"""An error value every policy below counts as bad (the baselines stay under 0.01)."""
TRAFFIC_VALUE = 1000.0
"""Traffic at or above every baseline median below."""
LOW_TRAFFIC_VALUE = 1.0
"""Traffic under the policy's share of every baseline median below."""

POINT_STATES = ("healthy", "bad", "none", "absent", "no_traffic", "low")
"""What a sample after the intervention can be, for :func:`recovery_cases`.

``none``: the error value is null; ``absent``: there is no error sample at all;
``no_traffic``: the traffic value is null; ``low``: traffic is below the
policy's share of the baseline.
"""
MISSING_STATES = frozenset({"none", "absent", "no_traffic"})


def texts() -> st.SearchStrategy[str]:
    """Return non-blank one-line text, as actors, reasons and notes are."""
    return st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
    ).filter(lambda s: bool(s.strip()))


def actors() -> st.SearchStrategy[str]:
    """Return actor names."""
    return st.sampled_from(["alice", "bob", "carol", "on-call bot"])


def nan_spellings() -> st.SearchStrategy[float | str]:
    """Return the non-finite values a metric store may send (as numbers or strings)."""
    return st.sampled_from([float("nan"), "NaN", "nan", float("inf"), "+Inf", "-Inf", "-inf"])


def naive_datetimes() -> st.SearchStrategy[dt.datetime]:
    """Return datetimes without a time zone."""
    return st.datetimes(
        min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - naive on purpose
        max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    )


SUSPECT_SERVICES = ("checkout", "payments", "stripe", "k8s-prod", "search")
"""The services of :func:`suspect_cases`: affected ones, dependencies and the unrelated."""

_MICROSECONDS_PER_YEAR = 365 * 86400 * 10**6


@attrs.frozen
class SuspectCase:
    """The arguments of one ``rank_suspects`` call."""

    changes: tuple[Change, ...]
    onset: dt.datetime | float
    options: Mapping[str, object]


@st.composite
def _suspect_change(draw: st.DrawFn, onset: dt.datetime) -> Change:
    """Draw a change near the onset or long before it, to the microsecond or the second."""
    before = draw(
        st.one_of(
            st.integers(-3600 * 10**6, 3600 * 10**6),  # within the hour, microseconds
            st.integers(-2 * 86400, 3600).map(lambda s: s * 10**6),  # whole seconds, two days
            st.sampled_from([0, -300 * 10**6, -6 * 3600 * 10**6]),  # on the edges
            st.integers(-150 * _MICROSECONDS_PER_YEAR, 0),  # up to 150 years before
        )
    )
    duration = draw(
        st.none()
        | st.integers(0, 3 * 3600).map(lambda s: s * 10**6)
        | st.integers(0, 10 * 3600 * 10**6)
        | st.integers(0, 200 * _MICROSECONDS_PER_YEAR)
    )
    started = onset + dt.timedelta(microseconds=before)
    finished = None if duration is None else started + dt.timedelta(microseconds=duration)
    return Change(
        draw(st.sampled_from(["a", "b", "c"])),
        draw(st.sampled_from(list(ChangeKind))),
        draw(st.sampled_from([*SUSPECT_SERVICES, "other"])),
        started,
        finished,
        source=draw(st.sampled_from(["", "git"])),
        summary=draw(st.sampled_from(["", "rollout"])),
    )


def _weights() -> st.SearchStrategy[float]:
    return st.sampled_from([0, 1]) | st.floats(min_value=0, max_value=1)


@st.composite
def suspect_cases(draw: st.DrawFn) -> SuspectCase:
    """Draw a ``rank_suspects`` call: changes (some given twice), onset, services, map, policy.

    Instants run to the microsecond and to the second (so scores, gaps and starts
    tie), from minutes to 150 years before the onset (past where a difference's float
    seconds stop being exact); the policy's weights may be integers.
    """
    onset = draw(
        st.datetimes(
            min_value=dt.datetime(1950, 1, 1),  # noqa: DTZ001 - made aware by timezones
            max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
            timezones=st.just(dt.timezone.utc),
        )
    )
    changes = draw(st.lists(_suspect_change(onset), max_size=25))
    if changes:
        changes += draw(st.lists(st.sampled_from(changes), max_size=5))  # the same, again
        changes += [
            attrs.evolve(c, summary="again") for c in draw(st.lists(st.sampled_from(changes)))
        ]
    options: dict[str, object] = {
        "services": draw(
            st.sampled_from(SUSPECT_SERVICES) | st.lists(st.sampled_from(SUSPECT_SERVICES))
        ),
        "depends_on": draw(
            st.none()
            | st.dictionaries(
                st.sampled_from(SUSPECT_SERVICES),
                st.lists(st.sampled_from([*SUSPECT_SERVICES, "other"]), max_size=3),
            )
        ),
        "min_score": draw(_weights()),
    }
    lookback = draw(
        st.none()
        | st.floats(min_value=1, max_value=1e10)
        | st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=dt.timedelta(days=20_000))
    )
    if lookback is not None:
        options["lookback"] = lookback
    if draw(st.booleans()):
        options["policy"] = SuspectPolicy(
            half_life=draw(st.sampled_from([1, 1800]) | st.floats(min_value=1, max_value=1e6)),
            grace=draw(st.sampled_from([0, 300]) | st.floats(min_value=0, max_value=1e4)),
            rollout_allowance=draw(st.floats(min_value=0, max_value=1e10)),
            dependency_weight=draw(_weights()),
            unrelated_weight=draw(_weights()),
            kind_weights=draw(st.dictionaries(st.sampled_from(list(ChangeKind)), _weights())),
        )
    given = draw(st.sampled_from(["pendulum", "seconds", "datetime"]))
    if given == "seconds":
        return SuspectCase(tuple(changes), onset.timestamp(), options)
    if given == "pendulum":
        return SuspectCase(tuple(changes), pendulum.instance(onset), options)
    return SuspectCase(tuple(changes), onset, options)


@attrs.frozen
class RecoveryCase:
    """The arguments of one ``check_recovery`` call, and what each sample after ``since`` is."""

    errors: Series
    traffic: Series
    baseline_start: pendulum.DateTime
    baseline_end: pendulum.DateTime
    since: pendulum.DateTime
    until: pendulum.DateTime
    step: float
    policy: RecoveryPolicy
    times: tuple[pendulum.DateTime, ...]
    states: tuple[str, ...]

    def missing_times(self) -> list[pendulum.DateTime]:
        """Return the instants after ``since`` whose error value or traffic is missing."""
        return [
            at for at, state in zip(self.times, self.states, strict=True) if state in MISSING_STATES
        ]

    def arguments(self) -> dict[str, object]:
        """Return the keyword arguments of ``check_recovery`` after the two series."""
        return {
            "baseline_start": self.baseline_start,
            "baseline_end": self.baseline_end,
            "intervention_at": self.since,
            "until": self.until,
            "step": self.step,
            "policy": self.policy,
        }


def _series(query: str, pairs: list[tuple[pendulum.DateTime, float | None]]) -> Series:
    start = pairs[0][0]
    end = pairs[-1][0]
    return Series(
        MetricQuery("cases", query, start, end, 60.0), tuple(Sample(a, v) for a, v in pairs)
    )


@st.composite
def recovery_cases(draw: st.DrawFn, *, clean_tail: bool = False) -> RecoveryCase:
    """Return a regular baseline, a bad symptom window, then samples in random states.

    Healthy samples are at :data:`HEALTHY_VALUE` with :data:`TRAFFIC_VALUE`;
    the other states are described in :data:`POINT_STATES`. ``until`` falls
    shortly after the last sample, sometimes long enough after it to be stale.
    The last sample is never absent (see the unit test in test_recovery.py on
    a sample not yet scraped).

    With ``clean_tail``, the samples end in a healthy run longer than the
    policy's hold, and ``until`` is close enough to the last one to be fresh.
    """
    step = draw(st.sampled_from([15.0, 30.0, 60.0]))
    base_values = draw(st.lists(st.floats(0, 0.01, allow_nan=False), min_size=5, max_size=20))
    base_traffic = draw(
        st.lists(
            st.floats(100, 1000, allow_nan=False),
            min_size=len(base_values),
            max_size=len(base_values),
        )
    )
    symptom_points = draw(st.integers(0, 4))
    # Runs of samples in one state: long healthy runs, short troubles.
    runs = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("healthy"), st.integers(1, 15)),
                st.tuples(st.sampled_from(POINT_STATES[1:]), st.integers(1, 3)),
            ),
            max_size=5,
        )
    )
    states = [state for state, length in runs for _ in range(length)]
    hold = draw(st.integers(1, 12)) * step + draw(st.sampled_from([0.0, step / 2]))
    if clean_tail:
        # Enough healthy samples at the end to hold for the whole hold period.
        tail = math.ceil(hold / step) + 1 + draw(st.integers(0, 5))
        states += ["healthy"] * tail
    else:
        # The last sample is there (in some state): one not yet scraped at the
        # check's instant is within the step's tolerance, not a gap.
        states.append(
            draw(st.sampled_from(("healthy",) * 3 + ("bad", "none", "no_traffic", "low")))
        )
    since_offset = draw(st.sampled_from([0.0, step / 3]))
    until_offset = draw(
        st.sampled_from([0.0, step / 2] if clean_tail else [0.0, step / 2, 3 * step])
    )

    def at(index: int) -> pendulum.DateTime:
        return T0.add(seconds=index * step)

    errors: list[tuple[pendulum.DateTime, float | None]] = []
    traffic: list[tuple[pendulum.DateTime, float | None]] = []
    for index, (value, volume) in enumerate(zip(base_values, base_traffic, strict=True)):
        errors.append((at(index), value))
        traffic.append((at(index), volume))
    baseline_end = at(len(base_values))
    for index in range(len(base_values), len(base_values) + symptom_points):
        errors.append((at(index), BAD_VALUE))
        traffic.append((at(index), TRAFFIC_VALUE))
    first = len(base_values) + symptom_points
    since = at(first).subtract(seconds=since_offset)
    times = tuple(at(first + i) for i in range(len(states)))
    for moment, state in zip(times, states, strict=True):
        if state != "absent":
            errors.append(
                (
                    moment,
                    None if state == "none" else BAD_VALUE if state == "bad" else HEALTHY_VALUE,
                )
            )
        volume = {"no_traffic": None, "low": LOW_TRAFFIC_VALUE}.get(state, TRAFFIC_VALUE)
        traffic.append((moment, volume))
    return RecoveryCase(
        errors=_series("errors", errors),
        traffic=_series("traffic", traffic),
        baseline_start=T0,
        baseline_end=baseline_end,
        since=since,
        until=times[-1].add(seconds=until_offset),
        step=step,
        policy=RecoveryPolicy(hold=hold),
        times=times,
        states=tuple(states),
    )
