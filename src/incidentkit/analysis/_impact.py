"""Impact in numbers: error-budget burn rates, the share of requests affected, a severity.

The burn rate is the SRE workbook's: the error ratio over a window divided by
the error budget ``1 - SLO``. A burn of 1 spends the budget exactly over the
SLO period; 14.4 spends a 30-day budget's 2 % in one hour.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Literal, cast

import attrs
import pendulum

from incidentkit._columns import microseconds
from incidentkit._errors import InvalidInputError
from incidentkit._model import Series, Severity, check_series, columns
from incidentkit._numbers import is_finite
from incidentkit._time import to_instant

__all__ = ["BurnRate", "ImpactNumbers", "impact_numbers"]

FAST_BURN = 14.4
"""Burn over both 1 h and 5 min that pages at once (2 % of a 30-day budget in an hour)."""
SLOW_BURN = 6.0
"""Burn over both 6 h and 5 min that pages (5 % of a 30-day budget in six hours)."""
TICKET_BURN = 1.0
"""Burn over 6 h that spends the budget faster than it accrues: worth a ticket."""
MAJOR_SHARE = 0.10
"""A share of requests failing from which a fast burn is a SEV1."""

DEFAULT_WINDOWS = (300.0, 3600.0, 21600.0)
"""The burn-rate windows: 5 minutes, 1 hour and 6 hours."""


@attrs.frozen
class BurnRate:
    """The error ratio and the burn rate over one window ending at the assessment.

    Attributes:
        window: The window's length in seconds.
        error_ratio: The share of requests that failed in the window
            (traffic-weighted when traffic is known), ``None`` without data.
        burn: ``error_ratio / (1 - slo)``, ``None`` without data.
        samples: How many error samples with a value the window held.

    .. versionadded:: 0.1.0
    """

    window: float
    error_ratio: float | None
    burn: float | None
    samples: int


@attrs.frozen
class ImpactNumbers:
    """Impact figures computed from monitoring, and the severity they suggest.

    Attributes:
        slo: The availability target, e.g. ``0.999``.
        at: The instant the windows end at.
        burn_rates: One per window, shortest first.
        share_of_requests: The share of requests that failed since the symptom
            began (traffic-weighted when traffic is known), ``None`` without data.
        affected_users: The highest value of the user metric since the
            symptom began, when one was given.
        suggested_severity: The severity the burn rates and the share suggest.
        explanation: The suggestion in plain words, with the figures.
        share_of_time: For a threshold objective on a gauge
            (``share_of="time"``): the share of the samples since the symptom
            began that were above the threshold; ``None`` otherwise. A gauge
            counts no requests, so :attr:`share_of_requests` is then ``None``.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``share_of_time``.
    """

    slo: float
    at: pendulum.DateTime
    burn_rates: tuple[BurnRate, ...]
    share_of_requests: float | None
    affected_users: float | None
    suggested_severity: Severity
    explanation: str
    share_of_time: float | None = None

    def burn(self, window: float) -> float | None:
        """Return the burn rate over ``window`` seconds, if it was computed."""
        for rate in self.burn_rates:
            if rate.window == window:
                return rate.burn
        return None


def _saturated(value: float) -> float:
    """Return ``value``, or the largest float of its sign when it overflowed to infinity."""
    return math.copysign(sys.float_info.max, value) if math.isinf(value) else value


def _weighted_mean(pairs: Sequence[tuple[float, float]]) -> float | None:
    """The mean of the values weighted by the weights, without overflowing on the way.

    Values and weights are first scaled by a power of two to at most 1 in
    magnitude (exactly: only the exponent changes), so that their products
    and sums stay finite whatever the series hold (1e306, 1e308); only the
    result is scaled back, saturated at the largest float if it cannot be.
    """
    largest = max(abs(v) for v, _w in pairs)
    heaviest = max(abs(w) for _v, w in pairs)
    if heaviest == 0:
        return None
    v_exp = math.frexp(largest)[1]
    w_exp = math.frexp(heaviest)[1]
    total = math.fsum(math.ldexp(v, -v_exp) * math.ldexp(w, -w_exp) for v, w in pairs)
    weight = math.fsum(math.ldexp(w, -w_exp) for _v, w in pairs)
    if weight <= 0:
        return None
    scaled = total / weight
    try:
        return _saturated(math.ldexp(scaled, v_exp))
    except OverflowError:  # negative weights can push the mean past the values
        return math.copysign(sys.float_info.max, scaled)


def _ratio(
    errors: Series,
    traffic: dict[int, float] | None,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
) -> tuple[float | None, int]:
    """The (traffic-weighted) mean error ratio of the samples in ``(start, end]``."""
    times, values = columns(errors)
    lo = bisect.bisect_right(times, start.timestamp())
    hi = bisect.bisect_right(times, end.timestamp())
    pairs = [
        (value, 1.0 if traffic is None else traffic.get(microseconds(at), 0.0))
        for at, value in zip(times[lo:hi], values[lo:hi], strict=True)
        if value == value  # noqa: PLR0124 - NaN is the gap
    ]
    if not pairs:
        return None, 0
    return _weighted_mean(pairs), len(pairs)


def _volumes(traffic: Series) -> dict[int, float]:
    """The traffic at each instant it has a value, keyed by whole microseconds."""
    times, values = columns(traffic)
    return {
        microseconds(at): value
        for at, value in zip(times, values, strict=True)
        if value == value  # noqa: PLR0124 - NaN is the gap
    }


def _figure(burn: float) -> str:
    if abs(burn) == sys.float_info.max:
        return f"{burn:.3g} (saturated: the true burn is beyond the largest float)"
    return f"{burn:.3g}"


def _label(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def _check_arguments(
    slo: float, windows: Sequence[float], share_of: str, *, has_traffic: bool
) -> None:
    """Refuse an SLO, windows or a share that :func:`impact_numbers` cannot compute with."""
    if not isinstance(cast("object", share_of), str) or share_of not in {"requests", "time"}:
        msg = f"share_of must be 'requests' or 'time', not {share_of!r}"
        raise InvalidInputError(msg)
    if share_of == "time" and has_traffic:
        msg = (
            "share_of='time' judges samples of a gauge, which counts no requests: "
            "traffic cannot weight them"
        )
        raise InvalidInputError(msg)
    if not (isinstance(cast("object", slo), (int, float)) and 0 < slo < 1):
        msg = f"slo must be strictly between 0 and 1 (0.999 for three nines), not {slo!r}"
        raise InvalidInputError(msg)
    if isinstance(windows, (str, bytes)) or not isinstance(cast("object", windows), Iterable):
        msg = f"windows must be a sequence of seconds, not {type(windows).__name__} {windows!r:.60}"
        raise InvalidInputError(msg)
    for window in windows:
        if not (is_finite(window) and window > 0):
            msg = f"a burn-rate window must be a positive number of seconds, not {window!r}"
            raise InvalidInputError(msg)


def impact_numbers(
    errors: Series,
    *,
    slo: float,
    at: dt.datetime | float,
    symptom_start: dt.datetime | float,
    traffic: Series | None = None,
    users: Series | None = None,
    windows: Sequence[float] = DEFAULT_WINDOWS,
    share_of: Literal["requests", "time"] = "requests",
) -> ImpactNumbers:
    """Compute burn rates, the share of requests affected and a suggested severity.

    Args:
        errors: The error ratio (0 to 1) over time; it should reach back the
            longest window before ``at``.
        slo: The availability target, strictly between 0 and 1 (``0.999``).
        at: Where the windows end (usually now).
        symptom_start: When the symptom began; the share of requests affected
            is taken from here to ``at``.
        traffic: Requests per second (or per step) at the same instants, to
            weight the error ratio by volume; without it, every sample weighs
            the same.
        users: A metric of affected users; its highest value since the
            symptom began is reported.
        windows: The burn-rate windows in seconds; the suggestion reads the
            5 min, 1 h and 6 h windows when they are among them.
        share_of: ``"requests"`` (the default): ``errors`` is a share of
            requests. ``"time"``: ``errors`` says for each sample whether a
            gauge was above a threshold objective (1) or not (0), so the burn
            rates are of time above it (a time-slice SLO), the share is
            :attr:`ImpactNumbers.share_of_time`, ``traffic`` is refused, and
            SEV1 (which needs 10 % of requests failing) is never suggested:
            a gauge cannot tell how many requests were affected.

    Returns:
        The figures and the suggestion. Windows without data have ``None``
        figures and say so in the explanation; they never count as zero. No
        figure is ever infinite or NaN: a burn rate beyond the largest float
        (an error series of 1e306s against a budget of 0.001) is saturated at
        it, and the explanation says so.

    Raises:
        InvalidInputError: The SLO is not strictly between 0 and 1, a
            window is not a positive number of seconds, ``share_of`` is
            neither ``"requests"`` nor ``"time"``, ``traffic`` is given
            with ``share_of="time"``, or a series is not a :class:`Series`.
        NaiveDatetimeError: ``at`` or ``symptom_start`` has no time zone.

    The suggestion, in order:

    1. SEV1: burn above 14.4 over both 1 h and 5 min (the workbook's fast-burn
       page) and at least 10 % of requests failing since the symptom began
       (never with ``share_of="time"``).
    2. SEV2: the fast-burn page with a smaller share, or burn above 6 over both
       6 h and 5 min (the slow-burn page).
    3. SEV3: burn above 1 over 6 h or 1 h: the budget is being spent faster
       than it accrues.
    4. SEV4: anything else, including no data (which the explanation states).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       ``share_of``.
    """
    check_series(
        {"errors": errors, "traffic": traffic, "users": users},
        optional=frozenset({"traffic", "users"}),
    )
    _check_arguments(slo, windows, share_of, has_traffic=traffic is not None)
    by_time = share_of == "time"
    end = to_instant(at, what="at")
    start = to_instant(symptom_start, what="symptom_start")
    budget = 1 - slo
    volume = None if traffic is None else _volumes(traffic)
    rates: list[BurnRate] = []
    for window in sorted(windows):
        ratio, count = _ratio(errors, volume, end.subtract(seconds=window), end)
        burn = None if ratio is None else _saturated(ratio / budget)
        rates.append(BurnRate(window, ratio, burn, count))
    share, _count = _ratio(errors, volume, start.subtract(microseconds=1), end)
    affected: float | None = None
    if users is not None:
        user_times, user_values = columns(users)
        seen = [
            value
            for value in user_values[
                bisect.bisect_left(user_times, start.timestamp()) : bisect.bisect_right(
                    user_times, end.timestamp()
                )
            ]
            if value == value  # noqa: PLR0124 - NaN is the gap
        ]
        affected = max(seen) if seen else None

    burns = {rate.window: rate.burn for rate in rates}
    five, hour, six = burns.get(300.0), burns.get(3600.0), burns.get(21600.0)
    figures = ", ".join(
        f"{_label(r.window)} {'no data' if r.burn is None else _figure(r.burn)}" for r in rates
    )
    fast = five is not None and hour is not None and five > FAST_BURN and hour > FAST_BURN
    slow = five is not None and six is not None and five > SLOW_BURN and six > SLOW_BURN
    spending = any(b is not None and b > TICKET_BURN for b in (hour, six))
    share_text = "no data" if share is None else f"{share:.2%}"
    if by_time:
        return _by_time(
            slo, end, rates, (share, share_text), affected, figures, fast=fast, slow=slow
        )
    if fast and share is not None and share >= MAJOR_SHARE:
        severity, why = (
            Severity.SEV1,
            f"fast burn over 1 h and 5 min (>{FAST_BURN:g}) with {share_text} of requests failing",
        )
    elif fast or slow:
        severity = Severity.SEV2
        why = (
            f"fast burn over 1 h and 5 min (>{FAST_BURN:g}), {share_text} of requests failing"
            if fast
            else f"slow burn over 6 h and 5 min (>{SLOW_BURN:g})"
        )
    elif spending:
        severity, why = Severity.SEV3, f"burn above {TICKET_BURN:g} over 1 h or 6 h"
    elif all(rate.burn is None for rate in rates):
        severity, why = Severity.SEV4, "no error data in any window: severity cannot be measured"
    else:
        severity, why = Severity.SEV4, "the error budget is not being spent faster than it accrues"
    explanation = (
        f"{severity.value.upper()} suggested: {why}. Burn rates against SLO {slo:g}: {figures}; "
        f"share of requests failing since the symptom began: {share_text}"
    )
    if affected is not None:
        explanation += f"; up to {affected:g} users affected"
    return ImpactNumbers(slo, end, tuple(rates), share, affected, severity, explanation + ".")


def _by_time(  # noqa: PLR0917 - private, called once
    slo: float,
    end: pendulum.DateTime,
    rates: list[BurnRate],
    share: tuple[float | None, str],
    affected: float | None,
    figures: str,
    *,
    fast: bool,
    slow: bool,
) -> ImpactNumbers:
    """The numbers of a threshold objective on a gauge: time above it, never requests."""
    burns = {rate.window: rate.burn for rate in rates}
    hour, six = burns.get(3600.0), burns.get(21600.0)
    spending = any(b is not None and b > TICKET_BURN for b in (hour, six))
    if fast or slow:
        severity = Severity.SEV2
        why = (
            f"fast burn of time above the threshold over 1 h and 5 min (>{FAST_BURN:g}); "
            "not SEV1 from a gauge alone, which cannot tell how many requests failed"
            if fast
            else f"slow burn of time above the threshold over 6 h and 5 min (>{SLOW_BURN:g})"
        )
    elif spending:
        severity, why = Severity.SEV3, f"burn above {TICKET_BURN:g} over 1 h or 6 h"
    elif all(rate.burn is None for rate in rates):
        severity, why = Severity.SEV4, "no data in any window: severity cannot be measured"
    else:
        severity, why = Severity.SEV4, "the error budget is not being spent faster than it accrues"
    explanation = (
        f"{severity.value.upper()} suggested: {why}. Burn rates of time above the threshold "
        f"against SLO {slo:g}: {figures}; share of time above the threshold since the symptom "
        f"began: {share[1]} (of the samples: a gauge counts no requests, so no share of "
        "requests is known)"
    )
    if affected is not None:
        explanation += f"; up to {affected:g} users affected"
    return ImpactNumbers(
        slo, end, tuple(rates), None, affected, severity, explanation + ".", share[0]
    )
