from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentkit import InvalidInputError, MetricQuery, NaiveDatetimeError, Sample, Series
from incidentkit.analysis import Onset, detect_onset
from incidentkit.memory import load_dataset
from onset_strategies import (
    DAY,
    T0,
    SmoothedStepCase,
    StepCase,
    any_series,
    bounded_noise,
    daily_cycle,
    gaussian_noise,
    make_series,
    rate_ratio,
    smoothed_step_cases,
    step_cases,
)
from strategies import naive_datetimes

BASE = 0.002
"""A healthy error ratio."""
NOISE = 0.0004
"""Its noise."""
BAD = 0.17
"""The error ratio during the symptom."""


def error_ratio(n: int, onset: int, *, seed: int = 1, shift: float = BAD) -> list[float | None]:
    """An error ratio of ``n`` samples that steps up by ``shift`` at ``onset``."""
    noise = gaussian_noise(seed, n, sigma=NOISE)
    return [BASE + e + (shift if i >= onset else 0.0) for i, e in enumerate(noise)]


def found(onset: Onset | None) -> Onset:
    """The onset, which the test expects to exist."""
    assert onset is not None
    return onset


# -- shapes ----------------------------------------------------------------------------


def test_step_is_found_at_its_first_sample():
    """An abrupt step is placed at its first sample, with the levels on either side."""
    series = make_series(error_ratio(120, 70))
    onset = found(detect_onset(series))
    assert onset.index == 70
    assert onset.at == series.samples[70].at
    assert onset.shape == "step"
    assert onset.ramp_end is None
    assert onset.ramp_start is None
    assert onset.baseline_level == pytest.approx(BASE, abs=3 * NOISE)
    assert onset.symptom_level == pytest.approx(BASE + BAD, abs=3 * NOISE)
    assert onset.shift == pytest.approx(BAD, abs=6 * NOISE)
    assert onset.ended_at is None
    assert onset.end_index is None
    assert onset.direction == "up"
    assert not onset.seasonal
    assert onset.confidence > 0.99


def test_explanation_states_the_figures():
    """The explanation gives the levels, the instant, the sample and the confidence."""
    series = make_series(error_ratio(120, 70))
    onset = found(detect_onset(series))
    text = onset.explanation
    assert "rose" in text
    assert f"{onset.baseline_level:.4g}" in text
    assert f"{onset.symptom_level:.4g}" in text
    assert "sample 70" in text
    assert onset.at.strftime("%Y-%m-%d %H:%M:%S UTC") in text
    assert "in one step" in text
    assert "had not returned to baseline" in text
    assert f"Confidence {onset.confidence:.2f}" in text


def test_ramp_onset_is_the_start_of_the_rise():
    """A rolling deploy's ramp is reported as a ramp starting where the rise starts."""
    n, start, length = 200, 90, 30
    noise = gaussian_noise(2, n, sigma=NOISE)
    values: list[float | None] = [
        BASE + e + BAD * min(1.0, max(0.0, (i - start + 1) / (length + 1)))
        for i, e in enumerate(noise)
    ]
    onset = found(detect_onset(make_series(values)))
    assert onset.shape == "ramp"
    assert abs(onset.index - start) <= 2
    assert onset.ramp_start == onset.at
    assert onset.ramp_end is not None
    ramp_end_index = next(
        i for i, s in enumerate(make_series(values).samples) if s.at == onset.ramp_end
    )
    assert abs(ramp_end_index - (start + length)) <= 3
    assert "in a ramp" in onset.explanation


def test_ramps_off_reports_a_step():
    """With ``ramps=False`` every onset is a step."""
    n, start, length = 200, 90, 30
    noise = gaussian_noise(2, n, sigma=NOISE)
    values: list[float | None] = [
        BASE + e + BAD * min(1.0, max(0.0, (i - start + 1) / (length + 1)))
        for i, e in enumerate(noise)
    ]
    onset = found(detect_onset(make_series(values), ramps=False))
    assert onset.shape == "step"
    assert onset.ramp_end is None


def test_direction_down_finds_a_drop_and_up_ignores_it():
    """A throughput drop is an onset when looking down, and none when looking up."""
    noise = gaussian_noise(3, 150, sigma=20.0)
    values: list[float | None] = [
        1000.0 + e - (400.0 if i >= 100 else 0.0) for i, e in enumerate(noise)
    ]
    series = make_series(values)
    onset = found(detect_onset(series, direction="down"))
    assert onset.index == 100
    assert onset.direction == "down"
    assert onset.shift < -300
    assert "fell" in onset.explanation
    assert detect_onset(series, direction="up") is None


def test_end_is_found_when_the_symptom_stops():
    """A symptom that stops has an end at the first sample back at baseline."""
    values = error_ratio(200, 80)
    values = [v - BAD if 80 <= i < 130 and v is not None else v for i, v in enumerate(values)]
    values = [v + BAD if 80 <= i < 130 and v is not None else v for i, v in enumerate(values)]
    values = [v - BAD if i >= 130 and v is not None else v for i, v in enumerate(values)]
    series = make_series(values)
    onset = found(detect_onset(series))
    assert onset.index == 80
    assert onset.end_index == 130
    assert onset.ended_at == series.samples[130].at
    assert onset.symptom_level == pytest.approx(BASE + BAD, abs=3 * NOISE)
    assert "back at baseline" in onset.explanation


def test_no_end_while_the_symptom_lasts():
    """A symptom still there at the end of the series has no end."""
    onset = found(detect_onset(make_series(error_ratio(200, 80))))
    assert onset.ended_at is None


# -- what is not an onset -----------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 2, 3])
def test_a_spike_is_not_an_onset(width):
    """A burst of one to three huge samples is not an onset."""
    values = error_ratio(150, 1000)
    values = [BAD * 5 if 90 <= i < 90 + width else v for i, v in enumerate(values)]
    assert detect_onset(make_series(values)) is None


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([], id="empty"),
        pytest.param([0.5], id="single-point"),
        pytest.param([None, None, None], id="all-gaps"),
        pytest.param([0.3] * 200, id="constant"),
        pytest.param([0.0] * 200, id="constant-zero"),
        pytest.param([1.0, 2.0, 3.0, 4.0], id="too-short"),
    ],
)
def test_degenerate_series_have_no_onset(values):
    """Empty, single-point, all-gaps, constant and too short series have no onset."""
    assert detect_onset(make_series(values)) is None


def test_constant_then_step_is_found():
    """A constant baseline (zero noise) still lets a later step through."""
    values: list[float | None] = [0.0] * 60 + [1.0] * 40
    onset = found(detect_onset(make_series(values)))
    assert onset.index == 60
    assert onset.noise > 0


def test_gaussian_noise_without_change_has_no_onset():
    """Plain noise without any change yields no onset (fixed seeds)."""
    for seed in range(20):
        values: list[float | None] = [BASE + e for e in gaussian_noise(seed, 500, sigma=NOISE)]
        assert detect_onset(make_series(values)) is None, seed


def test_correlated_noise_without_change_has_no_onset():
    """Correlated noise (AR(1), phi 0.7) without a change yields no onset (fixed seeds)."""
    for seed in range(20):
        shocks = gaussian_noise(seed, 600)
        value = 0.0
        values: list[float | None] = []
        for e in shocks:
            value = 0.7 * value + math.sqrt(1 - 0.7**2) * e
            values.append(10.0 + value)
        assert detect_onset(make_series(values)) is None, seed


def test_mostly_zero_metric_without_change_has_no_onset():
    """A mostly-zero error ratio with rare blips (MAD of zero) yields no onset."""
    values: list[float | None] = [0.01 if i % 7 == 0 else 0.0 for i in range(300)]
    assert detect_onset(make_series(values)) is None


def test_min_shift_filters_a_small_but_clear_shift():
    """A statistically clear shift smaller than ``min_shift`` is not reported."""
    series = make_series(error_ratio(200, 100, shift=0.003))
    assert found(detect_onset(series)).shift == pytest.approx(0.003, abs=0.0005)
    assert detect_onset(series, min_shift=0.01) is None


def test_min_sigmas_filters_a_small_shift():
    """A shift below ``min_sigmas`` noise sigmas is not reported."""
    series = make_series(error_ratio(400, 200, shift=2 * NOISE))
    assert detect_onset(series, min_sigmas=4.0) is None


def test_min_duration_needs_the_shift_to_persist():
    """A six-sample burst is an onset with the default duration, not with a longer one."""
    values = error_ratio(200, 1000)
    values = [v + BAD if 100 <= i < 112 and v is not None else v for i, v in enumerate(values)]
    assert found(detect_onset(make_series(values))).index == 100
    assert detect_onset(make_series(values), min_duration=15) is None


# -- gaps, NaN and spacing -------------------------------------------------------------


def test_gaps_are_skipped_not_zero():
    """Gaps do not move the onset, and are never read as zero."""
    values = error_ratio(150, 100)
    gappy = [None if i % 9 == 4 and i not in (99, 100) else v for i, v in enumerate(values)]
    onset = found(detect_onset(make_series(gappy)))
    assert onset.index == 100
    # Read as zeros, the gaps would be a drop from 0.002 to 0 every ninth sample.
    assert detect_onset(make_series(gappy), direction="down") is None


def test_nan_values_are_gaps():
    """NaN and infinite values are gaps, in a Series and in pairs alike."""
    values = error_ratio(150, 100)
    pairs = [(T0 + 60.0 * i, float("nan") if i % 10 == 3 else v) for i, v in enumerate(values)]
    query = MetricQuery("tests", "metric", T0, T0 + 60.0 * 150, 60.0)
    series = Series.from_pairs(query, pairs)
    assert series.non_finite == 15
    assert found(detect_onset(series)).index == 100
    assert found(detect_onset(pairs)).index == 100


def test_an_onset_is_never_on_a_gap():
    """When the first symptom sample is missing, the onset is the next sample with a value."""
    values = error_ratio(150, 100)
    values[100] = None
    onset = found(detect_onset(make_series(values)))
    assert onset.index == 101


def test_irregular_spacing_maps_the_index_to_its_instant():
    """With jittered times and absent samples, index and instant name the same sample."""
    n = 200
    jitter = bounded_noise(5, n)
    times = [T0 + 60.0 * (i + (i // 7) + 0.3 * jitter[i]) for i in range(n)]
    values = error_ratio(n, 120)
    series = make_series(values, times=times)
    onset = found(detect_onset(series))
    assert onset.index == 120
    assert onset.at == series.samples[120].at
    assert onset.at == pendulum.from_timestamp(times[120], tz="UTC")


def test_pairs_give_the_same_onset_as_a_series():
    """Plain (Unix seconds or aware datetime, value) pairs are read like a Series."""
    values = error_ratio(150, 100)
    series = make_series(values)
    from_series = found(detect_onset(series))
    from_seconds = found(detect_onset([(T0 + 60.0 * i, v) for i, v in enumerate(values)]))
    from_datetimes = found(detect_onset([(s.at, s.value) for s in series.samples]))
    assert from_seconds == from_series
    assert from_datetimes == from_series


# -- the baseline ------------------------------------------------------------------------


def test_an_early_onset_inside_the_default_baseline_is_found():
    """An onset within the first quarter of the series is still found."""
    onset = found(detect_onset(make_series(error_ratio(400, 40))))
    assert onset.index == 40


def test_a_baseline_window_limits_the_search_to_after_it():
    """With a baseline window, only an onset after the window counts."""
    values = error_ratio(300, 50)
    values = [v - BAD if i >= 100 and v is not None else v for i, v in enumerate(values)]
    values = [v + BAD if i >= 200 and v is not None else v for i, v in enumerate(values)]
    series = make_series(values)
    assert found(detect_onset(series)).index == 50
    window = (series.samples[100].at, series.samples[160].at)
    onset = found(detect_onset(series, baseline=window))
    assert onset.index == 200
    assert "the median of 60 samples" in onset.explanation


def test_a_baseline_window_needs_three_samples():
    """A baseline window with fewer than three values is refused, with what to do."""
    series = make_series(error_ratio(150, 100))
    window = (series.samples[10].at, series.samples[12].at)
    with pytest.raises(InvalidInputError, match="at least 3"):
        detect_onset(series, baseline=window)


def test_a_reversed_baseline_window_is_refused():
    """A baseline window that ends before it starts is refused."""
    series = make_series(error_ratio(150, 100))
    window = (series.samples[50].at, series.samples[10].at)
    with pytest.raises(InvalidInputError, match="before its start"):
        detect_onset(series, baseline=window)


# -- daily seasonality -------------------------------------------------------------------


def seasonal_values(
    *, days: float = 3.0, step: float = 600.0, onset_day: float = 2.5, end_day: float | None = None
) -> tuple[list[float], list[float | None], int, int | None]:
    """A metric with a daily cycle of 10 sigmas and a 15-sigma step; times and indices."""
    n = int(days * DAY / step)
    times = [T0 + i * step for i in range(n)]
    cycle = daily_cycle(times, 10.0)
    noise = gaussian_noise(7, n)
    onset = int(onset_day * DAY / step)
    end = int(end_day * DAY / step) if end_day is not None else None
    values: list[float | None] = [
        100.0 + c + e + (15.0 if i >= onset and (end is None or i < end) else 0.0)
        for i, (c, e) in enumerate(zip(cycle, noise, strict=True))
    ]
    return times, values, onset, end


def test_daily_cycle_is_compared_with_the_day_before():
    """On three days with a daily cycle, the step is found against the day before."""
    times, values, start, _ = seasonal_values()
    series = make_series(values, times=times)
    onset = found(detect_onset(series))
    assert onset.seasonal
    assert abs(onset.index - start) <= 1
    assert onset.shift == pytest.approx(15.0, abs=1.5)
    assert "a day earlier" in onset.explanation


def test_without_seasonality_the_cycle_hides_the_step():
    """With ``seasonality="none"`` the cycle swamps the baseline and the step is not found."""
    times, values, _, _ = seasonal_values()
    assert detect_onset(make_series(values, times=times), seasonality="none") is None


def test_a_symptom_longer_than_a_day_does_not_end_a_day_later():
    """A symptom lasting over a day is compared with the last day before it, not the day before."""
    times, values, start, _ = seasonal_values(days=4.0, onset_day=1.5)
    onset = found(detect_onset(make_series(values, times=times)))
    assert onset.seasonal
    assert abs(onset.index - start) <= 1
    assert onset.ended_at is None


def test_a_seasonal_symptom_that_ends_on_the_next_day_has_an_end():
    """A seasonal symptom that ends more than a day after it began has the right end."""
    times, values, start, end = seasonal_values(days=4.0, onset_day=1.5, end_day=2.8)
    assert end is not None
    onset = found(detect_onset(make_series(values, times=times)))
    assert abs(onset.index - start) <= 1
    assert onset.end_index is not None
    assert abs(onset.end_index - end) <= 1


def test_daily_seasonality_on_a_short_series_is_refused():
    """``seasonality="daily"`` on less than a day of data is refused."""
    series = make_series(error_ratio(150, 100))
    with pytest.raises(InvalidInputError, match="seasonality='daily'"):
        detect_onset(series, seasonality="daily")


def test_a_flat_series_over_days_is_not_seasonal():
    """Three days without a cycle are read as they are, not as differences."""
    times, values, start, _ = seasonal_values()
    flat = [v - c for v, c in zip(values, daily_cycle(times, 10.0), strict=True) if v is not None]
    onset = found(detect_onset(make_series(list(flat), times=times)))
    assert not onset.seasonal
    assert onset.index == start


# -- confidence --------------------------------------------------------------------------


def test_a_clearer_shift_has_a_higher_confidence():
    """Confidence grows with the shift's size in noise sigmas."""
    confidences = []
    for sigmas in (2.0, 4.0, 8.0):
        series = make_series(error_ratio(300, 200, seed=11, shift=sigmas * NOISE))
        confidences.append(found(detect_onset(series)).confidence)
    assert confidences == sorted(confidences)
    assert confidences[0] < confidences[-1]
    assert all(0.0 <= c <= 1.0 for c in confidences)


def test_a_longer_symptom_has_a_higher_confidence():
    """Confidence grows with the number of symptom samples seen."""
    values = error_ratio(400, 200, seed=12, shift=2 * NOISE)
    short = found(detect_onset(make_series(values[:230])))
    long = found(detect_onset(make_series(values)))
    assert short.index == long.index
    assert short.confidence < long.confidence


# -- input checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"seasonality": "weekly"}, "seasonality"),
        ({"min_shift": -1.0}, "min_shift"),
        ({"min_shift": math.nan}, "min_shift"),
        ({"min_sigmas": 0.0}, "min_sigmas"),
        ({"min_duration": 0}, "min_duration"),
        ({"min_duration": 2.5}, "min_duration"),
        ({"min_duration": True}, "min_duration"),
        ({"threshold": -3.0}, "threshold"),
        ({"threshold": math.inf}, "threshold"),
        ({"threshold": "10"}, "threshold"),
        ({"threshold": None}, "threshold"),
        pytest.param({"min_sigmas": 10**400}, "min_sigmas", id="min_sigmas=10**400"),
        ({"min_shift": "0.1"}, "min_shift"),
        ({"direction": ["up"]}, "direction"),
        ({"seasonality": {"daily": True}}, "seasonality"),
        ({"baseline": "2026-11-20"}, "baseline must be a"),
        ({"baseline": 3600}, "baseline must be a"),
        ({"baseline": (T0,)}, "baseline must be a"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    """Out-of-range settings raise InvalidInputError naming the setting."""
    series = make_series(error_ratio(150, 100))
    with pytest.raises(InvalidInputError, match=match):
        detect_onset(series, **kwargs)


def test_a_series_cannot_hold_a_naive_datetime():
    """Building a series from a naive datetime fails: the model never guesses a zone."""
    naive = dt.datetime(2026, 11, 10, 12, 0)  # noqa: DTZ001 - the naive datetime under test
    query = MetricQuery("tests", "metric", T0, T0 + 600.0, 60.0)
    with pytest.raises(NaiveDatetimeError):
        Series.from_pairs(query, [(naive, 1.0)])
    with pytest.raises(NaiveDatetimeError):
        Sample(naive, 1.0)


@given(naive_datetimes())
def test_naive_datetimes_are_refused_everywhere(naive):
    """A naive datetime is refused in pairs and in a baseline window."""
    with pytest.raises(NaiveDatetimeError):
        detect_onset([(naive, 1.0), (naive + dt.timedelta(seconds=60), 2.0)])
    series = make_series(error_ratio(50, 100))
    with pytest.raises(NaiveDatetimeError):
        detect_onset(series, baseline=(naive, naive + dt.timedelta(hours=1)))


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        pytest.param([(T0, 1.0), (T0, 2.0)], "increasing", id="same-instant"),
        pytest.param([(T0 + 60, 1.0), (T0, 2.0)], "increasing", id="unsorted"),
        pytest.param([(T0, "1.0")], "value", id="string-value"),
        pytest.param([(T0, True)], "value", id="bool-value"),
        pytest.param([("noon", 1.0)], "instant", id="string-instant"),
        pytest.param([(math.inf, 1.0)], "instant", id="infinite-instant"),
        pytest.param([(T0,)], "pair", id="not-a-pair"),
    ],
)
def test_malformed_pairs_are_refused(pairs, match):
    """Pairs out of order or of the wrong types are refused."""
    with pytest.raises(InvalidInputError, match=match):
        detect_onset(pairs)


def test_an_onset_is_a_frozen_value():
    """An Onset is immutable."""
    onset = found(detect_onset(make_series(error_ratio(150, 100))))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        onset.index = 3  # type: ignore[misc]


# -- properties ----------------------------------------------------------------------------


@given(step_cases())
def test_a_clear_step_is_found_exactly_as_a_step(case: StepCase):
    """A step of at least 6 in noise that never drifts is found at its first sample."""
    onset = found(detect_onset(case.series(), ramps=False))
    assert onset.index == case.onset
    assert onset.shift == pytest.approx(case.size, abs=1.0)
    assert onset.ended_at is None


@settings(derandomize=True)
@given(step_cases(noise="uniform"))
def test_a_clear_step_is_found_within_two_samples(case: StepCase):
    """With ramps allowed and noise that may drift, a clear step is found within two samples.

    A statistical claim, tested on fixed examples: rarely, a drift of the noise just
    before the step fits as the start of a short ramp, or passes for an earlier onset.
    """
    onset = found(detect_onset(case.series()))
    assert abs(onset.index - case.onset) <= 2


@given(step_cases(), st.data())
def test_gaps_away_from_the_step_do_not_move_it(case: StepCase, data: st.DataObject):
    """Removing values more than 15 samples away from the step leaves the onset alone."""
    n = len(case.values)
    far = [i for i in range(n) if abs(i - case.onset) > 15]
    holes = data.draw(st.sets(st.sampled_from(far), max_size=n // 5)) if far else set()
    gappy: list[float | None] = [None if i in holes else v for i, v in enumerate(case.values)]
    before = found(detect_onset(case.series(), ramps=False))
    after = found(detect_onset(make_series(gappy, step=case.step), ramps=False))
    assert after.index == before.index == case.onset


@given(step_cases(), st.integers(-20, 20), st.integers(-3, 3))
def test_onset_ignores_units_and_clock(case: StepCase, exponent: int, days: int):
    """Scaling the values by a power of two or moving the clock by whole days changes nothing."""
    scale = 2.0**exponent
    moved = make_series(
        [v * scale for v in case.values],
        times=[T0 + days * DAY + i * case.step for i in range(len(case.values))],
    )
    original = found(detect_onset(case.series()))
    other = found(detect_onset(moved))
    assert other.index == original.index
    assert other.shape == original.shape
    assert other.confidence == pytest.approx(original.confidence)
    assert other.shift == pytest.approx(original.shift * scale)


@given(step_cases())
def test_down_is_up_mirrored(case: StepCase):
    """Negating the values and looking down finds the same onset as looking up."""
    up = found(detect_onset(case.series()))
    down = found(
        detect_onset(make_series([-v for v in case.values], step=case.step), direction="down")
    )
    assert down.index == up.index
    assert down.shift == pytest.approx(-up.shift)


@settings(derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(60, 600))
def test_noise_alone_yields_no_onset(seed: int, n: int):
    """Gaussian noise without a change yields no onset (fixed examples: a statistical claim)."""
    values: list[float | None] = [5.0 + e for e in gaussian_noise(seed, n)]
    assert detect_onset(make_series(values)) is None


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(any_series(), st.sampled_from(["up", "down"]))
def test_any_series_gives_a_consistent_answer(series: Series, direction: str):
    """Whatever the series, the answer is None or an onset that points at a real sample."""
    onset = detect_onset(series, direction=direction)  # type: ignore[arg-type]
    if onset is None:
        return
    assert 0 <= onset.index < len(series)
    assert series.samples[onset.index].value is not None
    assert onset.at == series.samples[onset.index].at
    assert 0.0 <= onset.confidence <= 1.0
    assert math.isfinite(onset.baseline_level)
    assert math.isfinite(onset.symptom_level)
    assert (onset.shift > 0) == (direction == "up")
    if onset.end_index is not None:
        assert onset.end_index > onset.index
        assert onset.ended_at == series.samples[onset.end_index].at


# -- rate()-smoothed symptoms near the end of the series ------------------------------------

DATA = Path(__file__).parent / "data" / "onset" / "checkout_rate_5m.json"
"""The checkout outage's error ratio as a real Prometheus returned it through rate()[5m]."""
EXAMPLE = Path(__file__).parent.parent / "examples" / "data" / "checkout_outage.json"


def _prometheus_window(end: str, hours: int) -> list[tuple[float, float | None]]:
    """The samples a range query from ``end - hours`` to ``end`` (UTC, 2026-11-20) returns."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    stop = pendulum.parse(f"2026-11-20T{end}:00Z").int_timestamp  # type: ignore[union-attr]
    return [(t, v) for t, v in data["samples"] if stop - hours * 3600 <= t <= stop]


def _ar(seed: int, n: int, phi: float) -> list[float]:
    """AR(1) noise of unit variance: strongly correlated, as a rate over many samples is."""
    value = 0.0
    out: list[float] = []
    for e in gaussian_noise(seed, n):
        value = phi * value + math.sqrt(1 - phi**2) * e
        out.append(value)
    return out


@pytest.mark.parametrize("end", ["14:15", "14:20", "14:30"])
@pytest.mark.parametrize("hours", [6, 2, 1])
def test_the_rate_smoothed_checkout_outage_is_found_in_every_window(end: str, hours: int):
    """The real rate()[5m] error ratio ramps from 0.002 to 0.18 from 14:07: found there.

    Before, a window whose baseline showed strongly correlated noise (2 and 6 hours)
    missed it, or reported a 1.4-sigma wiggle at 12:17 instead: z-scores were clipped at
    4 under a threshold widened up to twenty times, so that even a 90-fold rise needed
    some fifty samples to raise the alarm.
    """
    pairs = _prometheus_window(end, hours)
    onset = found(detect_onset(pairs))
    at = pendulum.datetime(2026, 11, 20, 14, 7, tz="UTC")
    assert abs((onset.at - at).total_seconds()) <= 60, onset.explanation
    assert onset.shape == "ramp"
    assert onset.ended_at is None
    assert onset.symptom_level > 50 * onset.baseline_level
    assert onset.confidence > 0.99


def test_the_stepping_checkout_outage_is_found_at_the_same_minute():
    """The same outage without rate smoothing (the example data set) steps at 14:07."""
    data = load_dataset(EXAMPLE)
    query = data.scenario["error_query"]
    series = data.metric_source().query_range(
        query,
        pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC"),
        pendulum.datetime(2026, 11, 20, 14, 30, tz="UTC"),
        60,
    )
    onset = found(detect_onset(series))
    assert onset.at == pendulum.datetime(2026, 11, 20, 14, 7, tz="UTC")
    assert onset.confidence > 0.99


@pytest.mark.parametrize("n", [60, 120, 180, 360])
@pytest.mark.parametrize("left", [8, 10, 15, 30])
def test_a_rate_of_counters_that_steps_near_the_end_is_found(n: int, left: int):
    """rate(errors[5m]) / rate(total[5m]) from counters: found at the ramp's first sample.

    The error share steps from 0.2 % to 18 % ``left`` samples before the end of the
    series; the 5-minute rate turns the step into a 5-sample ramp. Five seeds each.
    """
    onset_at = n - left
    for seed in range(1, 6):
        onset = found(detect_onset(make_series(rate_ratio(seed, n, onset_at))))
        assert abs(onset.index - onset_at) <= 1, (seed, onset.explanation)
        assert onset.ended_at is None


@pytest.mark.parametrize(("n", "onset_at"), [(160, 25), (200, 20), (200, 30), (240, 35)])
def test_an_early_rate_smoothed_symptom_inside_the_default_baseline_is_found(n: int, onset_at: int):
    """The baselines taken again before an early onset are short (10 to 25 samples).

    They are too short to measure the rate's correlation in thirds: it is measured over
    the whole short baseline and capped by the default baseline's.
    """
    for seed in range(1, 6):
        onset = found(detect_onset(make_series(rate_ratio(seed, n, onset_at))))
        assert abs(onset.index - onset_at) <= 1, (seed, onset.explanation)


def test_a_huge_step_in_strongly_correlated_noise_is_found_near_the_end():
    """A step of 100 sigmas 8 samples before the end, in noise of autocorrelation 0.9."""
    for seed in range(10):
        values: list[float | None] = [
            10.0 + e + (100.0 if i >= 192 else 0.0) for i, e in enumerate(_ar(seed, 200, 0.9))
        ]
        onset = found(detect_onset(make_series(values)))
        assert onset.index == 192, seed


@pytest.mark.parametrize("width", [1, 2, 3])
def test_a_huge_spike_in_correlated_noise_is_not_an_onset(width: int):
    """A spike of 200 sigmas over up to three samples, in correlated noise: no onset.

    Beyond four sigmas a sample counts fully only in a run of four: the clip that
    widens with the threshold must not let a spike through.
    """
    for seed in range(10):
        values: list[float | None] = [
            10.0 + e + (200.0 if 150 <= i < 150 + width else 0.0)
            for i, e in enumerate(_ar(seed, 300, 0.7))
        ]
        assert detect_onset(make_series(values)) is None, seed


@settings(derandomize=True)
@given(smoothed_step_cases())
def test_a_smoothed_step_is_found_within_its_smoothing(case: SmoothedStepCase):
    """A step through a k-sample moving average is found within k samples of its start.

    k is 2 to 8; the step is anywhere from the middle to ``min_duration + k`` samples
    before the end. A statistical claim (the averaged noise is correlated and can drift), tested on
    fixed examples.
    """
    onset = found(detect_onset(case.series()))
    assert abs(onset.index - case.onset) <= case.width, onset.explanation
    assert onset.ended_at is None


# -- which symptom is reported ---------------------------------------------------------------


def _episodes(*shifts: tuple[int, int | None, float], n: int = 300) -> list[float | None]:
    """Gaussian noise around 10 with a shift of ``size`` from ``start`` to ``stop``."""
    values: list[float | None] = []
    for i, e in enumerate(gaussian_noise(5, n)):
        level = 10.0 + e
        for start, stop, size in shifts:
            if i >= start and (stop is None or i < stop):
                level += size
        values.append(level)
    return values


def test_a_much_larger_later_symptom_is_reported_over_an_earlier_one():
    """A small early symptom that ended, then a large one still there at the end."""
    values = _episodes((80, 110, 3.0), (250, None, 40.0))
    early = found(detect_onset(make_series(values[:200])))
    assert early.index == 80  # the small one is a symptom in its own right
    assert early.ended_at is not None
    onset = found(detect_onset(make_series(values)))
    assert onset.index == 250
    assert onset.ended_at is None
    assert "An earlier, smaller shift" in onset.explanation
    assert _when(early.at) in onset.explanation


def test_a_much_larger_rise_on_top_of_an_ongoing_symptom_is_reported():
    """A small shift that never ended, then a much larger one on top of it."""
    values = _episodes((80, None, 3.0), (250, None, 40.0))
    onset = found(detect_onset(make_series(values)))
    assert onset.index == 250
    assert onset.shift == pytest.approx(43.0, abs=1.0)
    assert "An earlier, smaller shift" in onset.explanation


@pytest.mark.parametrize(
    "second",
    [(200, 230, 25.0), (200, None, 25.0), (200, None, 3.0), (200, 230, 3.0)],
    ids=["similar-ended", "similar-ongoing", "smaller-ongoing", "smaller-ended"],
)
def test_the_first_symptom_is_kept_unless_a_later_one_is_twice_as_large(
    second: tuple[int, int | None, float],
):
    """A symptom that comes back at a similar or smaller size is reported from the first."""
    values = _episodes((80, 110, 20.0), second)
    onset = found(detect_onset(make_series(values)))
    assert onset.index == 80
    assert onset.ended_at == make_series(values).samples[110].at
    assert "passed over" not in onset.explanation


def _when(at: pendulum.DateTime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- either direction, spikes, ramp durations ------------------------------------------------


def _throughput(n: int = 200, *, drop_at: int | None = None, rise_at: int | None = None):
    """Requests per second around 1000 (sigma 20): a drop of 400 and/or a rise of 300."""
    noise = gaussian_noise(3, n, sigma=20.0)
    values: list[float | None] = []
    for i, e in enumerate(noise):
        value = 1000.0 + e
        if drop_at is not None and i >= drop_at:
            value -= 400.0
        if rise_at is not None and i >= rise_at:
            value += 300.0
        values.append(value)
    return make_series(values)


def test_either_finds_a_drop_and_says_it_fell():
    """``direction="either"`` finds a drop that ``"up"`` ignores, and reports it as a fall."""
    series = _throughput(drop_at=120)
    assert detect_onset(series) is None
    onset = found(detect_onset(series, direction="either"))
    assert onset.index == 120
    assert onset.direction == "down"
    assert "fell" in onset.explanation
    assert onset == found(detect_onset(series, direction="down"))


def test_either_finds_a_rise_as_up_does():
    """On a rise, ``"either"`` gives what ``"up"`` gives."""
    series = _throughput(rise_at=90)
    assert detect_onset(series, direction="either") == detect_onset(series, direction="up")


def test_either_reports_the_first_of_two_similar_symptoms_and_names_the_other():
    """A drop, then a recovery overshooting to a rise: the drop is reported, the rise named."""
    noise = gaussian_noise(4, 300, sigma=20.0)
    values: list[float | None] = [
        1000.0 + e + (-400.0 if 100 <= i < 150 else 0.0) + (400.0 if i >= 220 else 0.0)
        for i, e in enumerate(noise)
    ]
    onset = found(detect_onset(make_series(values), direction="either"))
    assert onset.index == 100
    assert onset.direction == "down"
    assert "Looked for a change either way: a rise" in onset.explanation


def test_either_reports_a_much_larger_later_symptom():
    """A small early rise, then a drop more than twice as large: the drop is reported."""
    noise = gaussian_noise(5, 300, sigma=20.0)
    values: list[float | None] = [
        1000.0 + e + (150.0 if i >= 100 else 0.0) - (900.0 if i >= 220 else 0.0)
        for i, e in enumerate(noise)
    ]
    onset = found(detect_onset(make_series(values), direction="either"))
    assert onset.direction == "down"
    assert onset.index == 220
    assert "earlier but smaller" in onset.explanation


@pytest.mark.parametrize("width", [1, 2, 4])
def test_a_spike_is_reported_as_a_spike_when_asked(width: int):
    """With ``spikes=True``, a burst shorter than ``min_duration`` is a spike that ended."""
    values = error_ratio(200, 10_000)
    for i in range(120, 120 + width):
        values[i] = BASE + 40 * NOISE
    series = make_series(values)
    assert detect_onset(series) is None
    onset = found(detect_onset(series, spikes=True))
    assert onset.shape == "spike"
    assert onset.index == 120
    assert onset.end_index == 120 + width
    assert onset.ended_at == series.samples[120 + width].at
    assert onset.ramp_seconds is None
    assert onset.symptom_level == pytest.approx(BASE + 40 * NOISE)
    assert "a spike, not a lasting shift" in onset.explanation


def test_a_spike_before_a_level_shift_is_reported_first_with_the_shift_named():
    """A spike, then a lasting step: the spike is reported and the step's start given."""
    values = error_ratio(240, 160)
    values[60] = BASE + 50 * NOISE
    onset = found(detect_onset(make_series(values), spikes=True))
    assert onset.shape == "spike"
    assert onset.index == 60
    assert "A lasting shift followed" in onset.explanation
    assert "(sample 160)" in onset.explanation


def test_a_level_shift_is_still_a_step_with_spikes_on():
    """``spikes=True`` changes nothing for a lasting step without a spike before it."""
    series = make_series(error_ratio(120, 70))
    assert detect_onset(series, spikes=True) == detect_onset(series)


def test_a_downward_spike_is_found_either_way():
    """A throughput dip of two samples is a downward spike with ``direction="either"``."""
    values = [v for _, v in zip(range(200), (s.value for s in _throughput().samples), strict=False)]
    values[150] = 500.0
    values[151] = 520.0
    onset = found(detect_onset(make_series(values), direction="either", spikes=True))
    assert (onset.shape, onset.direction, onset.index) == ("spike", "down", 150)


def test_spikes_in_plain_noise_are_rare():
    """Gaussian noise alone: no spike reported on 100 seeds of 400 samples."""
    reported = [
        seed
        for seed in range(100)
        if detect_onset(make_series(list(gaussian_noise(seed, 400))), spikes=True) is not None
    ]
    assert len(reported) <= 1, reported


def test_a_ramp_reports_its_duration():
    """A ramp's ``ramp_seconds`` is the time from its start to its top."""
    n, start, length = 200, 90, 30
    noise = gaussian_noise(2, n, sigma=NOISE)
    values: list[float | None] = [
        BASE + e + BAD * min(1.0, max(0.0, (i - start + 1) / (length + 1)))
        for i, e in enumerate(noise)
    ]
    onset = found(detect_onset(make_series(values)))
    assert onset.ramp_end is not None
    assert onset.ramp_seconds == (onset.ramp_end - onset.at).total_seconds()
    assert abs(onset.ramp_seconds - 60.0 * length) <= 3 * 60.0
    assert "minutes) later" in onset.explanation


def test_a_step_has_no_ramp_duration():
    """A step has no ramp, so no ramp duration."""
    assert found(detect_onset(make_series(error_ratio(120, 70)))).ramp_seconds is None
