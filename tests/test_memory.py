"""Tests for the in-memory adapters and the dataset file format."""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib

import attrs
import pendulum
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from incidentkit import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    Detection,
    Incident,
    Intervened,
    InvalidInputError,
    ManualClock,
    NaiveDatetimeError,
    Reviewed,
    RollbackFailedError,
    Severity,
    SourceError,
)
from incidentkit.memory import (
    DATASET_FORMAT,
    Dataset,
    InMemoryChangeSource,
    InMemoryDependencyStatusSource,
    InMemoryDeploySource,
    InMemoryMetricSource,
    InMemoryRollbackExecutor,
    MetricData,
    dump_dataset,
    load_dataset,
)
from incidentkit.protocols import (
    ChangeSource,
    DependencyStatusSource,
    DeploySource,
    MetricSource,
    RollbackExecutor,
)
from strategies import texts

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "data" / "checkout_outage.json"
ERRORS = (
    'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m]))'
    ' / sum(rate(http_requests_total{service="checkout"}[5m]))'
)
TRAFFIC = 'sum(rate(http_requests_total{service="checkout"}[5m]))'
BAD_COUNT = 'sum(increase(http_requests_total{service="checkout",code=~"5.."}[1m]))'
TOTAL_COUNT = 'sum(increase(http_requests_total{service="checkout"}[1m]))'


def at(hour: int, minute: int = 0, second: int = 0) -> pendulum.DateTime:
    """Return an instant on the example's day, 2026-11-20, in UTC."""
    return pendulum.datetime(2026, 11, 20, hour, minute, second, tz="UTC")


def change(
    change_id: str,
    kind: ChangeKind = ChangeKind.DEPLOY,
    *,
    service: str = "checkout",
    started: pendulum.DateTime | None = None,
    finished: pendulum.DateTime | None = None,
    version: str | None = "v2",
    previous_version: str | None = "v1",
    source: str = "",
) -> Change:
    """Build a change with test defaults."""
    return Change(
        id=change_id,
        kind=kind,
        service=service,
        started=started or at(14),
        finished=finished,
        version=version,
        previous_version=previous_version,
        source=source,
    )


def minimal_dataset(**overrides: object) -> dict[str, object]:
    """Return a small valid dataset object, with some top-level fields replaced."""
    data: dict[str, object] = {
        "format": DATASET_FORMAT,
        "changes": [
            {
                "id": "d1",
                "kind": "deploy",
                "service": "checkout",
                "started": "2026-11-20T14:02:00Z",
                "finished": "2026-11-20T14:05:00Z",
                "version": "v2",
                "previous_version": "v1",
            }
        ],
        "metrics": {
            "errors": {
                "unit": "ratio",
                "start": "2026-11-20T14:00:00Z",
                "step": 60,
                "values": [0.1, 0.2],
            }
        },
    }
    data.update(overrides)
    return data


def write_json(tmp_path: pathlib.Path, data: object) -> pathlib.Path:
    """Write ``data`` as JSON to a file and return its path."""
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def load_error(tmp_path: pathlib.Path, data: object) -> str:
    """Return the message of the error loading ``data`` from a file raises."""
    path = write_json(tmp_path, data)
    with pytest.raises(InvalidInputError) as info:
        load_dataset(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --------------------------------------------------------------------------- protocols


def test_each_adapter_satisfies_its_protocol():
    """Every in-memory adapter passes the runtime check of the protocol it implements."""
    assert isinstance(InMemoryDeploySource([]), DeploySource)
    assert isinstance(InMemoryChangeSource([]), ChangeSource)
    assert isinstance(InMemoryDependencyStatusSource([]), DependencyStatusSource)
    assert isinstance(InMemoryMetricSource({}), MetricSource)
    assert isinstance(InMemoryRollbackExecutor(live_versions={}), RollbackExecutor)


def test_adapters_have_default_names_and_reprs():
    """Each adapter has its documented default name, shown in its repr."""
    adapters = [
        (InMemoryDeploySource([]), "memory-deploys"),
        (InMemoryChangeSource([]), "memory-infrastructure"),
        (InMemoryDependencyStatusSource([]), "memory-dependencies"),
        (InMemoryMetricSource({}), "memory-metrics"),
        (InMemoryRollbackExecutor(live_versions={}), "memory-rollback"),
    ]
    for adapter, name in adapters:
        assert adapter.name == name
        assert repr(adapter).startswith(f"{type(adapter).__name__}(name={name!r}")


def test_an_empty_name_is_rejected():
    """An adapter's name must be a non-empty string."""
    with pytest.raises(InvalidInputError, match="name"):
        InMemoryDeploySource([], name=" ")


# --------------------------------------------------------------------------- change sources


def test_deploys_returns_the_changes_overlapping_the_window():
    """A change is returned if it was under way at any time in the window, edges included."""
    source = InMemoryDeploySource(
        [
            change("before", started=at(12), finished=at(12, 59)),
            change("ends-at-start", started=at(12), finished=at(13)),
            change("spans", started=at(12), finished=at(15)),
            change("inside", started=at(13, 30), finished=at(13, 35)),
            change("running", started=at(13, 45)),
            change("starts-at-end", started=at(14), finished=at(14, 5)),
            change("after", started=at(14, 1), finished=at(14, 5)),
        ]
    )
    found = source.deploys(at(13), at(14))
    assert [c.id for c in found] == ["ends-at-start", "spans", "inside", "running", "starts-at-end"]


def test_deploys_sorts_by_start_whatever_the_input_order():
    """The answer is sorted by start time, then id."""
    source = InMemoryDeploySource(
        [
            change("c", started=at(14, 3)),
            change("b", started=at(14, 1)),
            change("a", started=at(14, 3)),
        ]
    )
    assert [c.id for c in source.deploys(at(14), at(15))] == ["b", "a", "c"]


def test_deploys_filters_by_service():
    """Only the named services are returned; a single string is one service name."""
    source = InMemoryDeploySource(
        [
            change("c1", service="checkout"),
            change("p1", ChangeKind.CONFIG, service="payments"),
            change("s1", ChangeKind.FEATURE_FLAG, service="search"),
        ]
    )
    assert [c.id for c in source.deploys(at(13), at(15), services=["payments", "search"])] == [
        "p1",
        "s1",
    ]
    assert [c.id for c in source.deploys(at(13), at(15), services="checkout")] == ["c1"]
    assert source.deploys(at(13), at(15), services=[]) == []
    assert len(source.deploys(at(13), at(15))) == 3


def test_changes_without_a_source_get_the_adapter_name():
    """A change with an empty source is stamped with the adapter's name; others keep theirs."""
    source = InMemoryDeploySource(
        [change("a"), change("b", started=at(14, 1), source="argo")], name="deploy-log"
    )
    assert [c.source for c in source.deploys(at(13), at(15))] == ["deploy-log", "argo"]


def test_change_and_dependency_sources_filter_windows_too():
    """The infrastructure and dependency sources apply the same overlap rule."""
    infra = InMemoryChangeSource(
        [
            change(
                "n1",
                ChangeKind.INFRASTRUCTURE,
                service="pool-a",
                started=at(13),
                finished=at(13, 30),
            ),
            change("n2", ChangeKind.INFRASTRUCTURE, service="pool-b", started=at(14, 10)),
        ]
    )
    assert [c.id for c in infra.changes(at(13, 30), at(14))] == ["n1"]
    assert [c.id for c in infra.changes(at(13), at(15), services=["pool-b"])] == ["n2"]
    deps = InMemoryDependencyStatusSource(
        [
            change(
                "s1",
                ChangeKind.DEPENDENCY,
                service="stripe",
                started=at(14, 20),
                finished=at(14, 45),
            )
        ]
    )
    assert [c.id for c in deps.incidents(at(14, 40), at(15))] == ["s1"]
    assert deps.incidents(at(14, 46), at(15)) == []


@pytest.mark.parametrize(
    ("factory", "wrong_kind"),
    [
        (InMemoryDeploySource, ChangeKind.INFRASTRUCTURE),
        (InMemoryDeploySource, ChangeKind.DEPENDENCY),
        (InMemoryChangeSource, ChangeKind.DEPLOY),
        (InMemoryDependencyStatusSource, ChangeKind.CONFIG),
    ],
)
def test_a_change_of_the_wrong_kind_is_rejected(factory, wrong_kind):
    """Each change source refuses changes of a kind it does not hold, naming the kind."""
    with pytest.raises(InvalidInputError, match=f"kind {wrong_kind.value}"):
        factory([change("x", wrong_kind)])


def test_non_changes_and_repeated_ids_are_rejected():
    """Items that are not Change records, and two changes with one id, are errors."""
    with pytest.raises(InvalidInputError, match=r"changes\[1\] is dict"):
        InMemoryDeploySource([change("a"), {"id": "b"}])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="repeats the id 'a'"):
        InMemoryDeploySource([change("a"), change("a", started=at(15))])


def test_naive_and_reversed_windows_are_rejected():
    """A naive datetime or a window that ends before it starts is an error."""
    source = InMemoryDeploySource([change("a")])
    with pytest.raises(NaiveDatetimeError):
        source.deploys(dt.datetime(2026, 11, 20, 13), at(15))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(InvalidInputError, match="ends"):
        source.deploys(at(15), at(13))


def test_a_plain_aware_datetime_is_accepted_as_a_window_edge():
    """A standard-library aware datetime in another zone bounds the window correctly."""
    source = InMemoryDeploySource([change("a", started=at(14), finished=at(14, 5))])
    plus_one = dt.timezone(dt.timedelta(hours=1))
    start = dt.datetime(2026, 11, 20, 15, 4, tzinfo=plus_one)
    assert [c.id for c in source.deploys(start, at(16))] == ["a"]


# --------------------------------------------------------------------------- metrics


def test_query_range_slices_the_window_inclusively():
    """Samples with start <= t <= end are returned, and the query records what was asked."""
    pairs = [(at(14, m), 0.01 * m) for m in range(10)]
    source = InMemoryMetricSource({"q": pairs}, name="prom", units={"q": "ratio"})
    series = source.query_range("q", at(14, 2), at(14, 5), 60)
    assert [s.at for s in series.samples] == [at(14, 2), at(14, 3), at(14, 4), at(14, 5)]
    assert series.query.source == "prom"
    assert series.query.query == "q"
    assert (series.query.start, series.query.end) == (at(14, 2), at(14, 5))
    assert series.query.step == 60.0
    assert series.query.unit == "ratio"


def test_query_range_accepts_unsorted_input_and_unix_seconds():
    """Pairs may come in any order and with Unix seconds; the answer is sorted."""
    base = at(14).timestamp()
    source = InMemoryMetricSource({"q": [(base + 120, "3"), (base, 1.0), (base + 60, 2)]})
    series = source.query_range("q", at(14), at(15), 60)
    assert [s.value for s in series.samples] == [1.0, 2.0, 3.0]


def test_an_unknown_query_answers_no_data():
    """A query the source does not hold gives an empty series, not an error and not zeros."""
    source = InMemoryMetricSource({"q": [(at(14), 1.0)]}, units={"other": "s"})
    series = source.query_range("other", at(13), at(15), 60)
    assert len(series) == 0
    assert series.query.query == "other"
    assert series.query.unit == "s"


def test_missing_and_non_finite_values_are_gaps():
    """None, NaN and the strings "NaN" and "+Inf" become gaps, and the non-finite are counted."""
    pairs = [
        (at(14, 0), 0.5),
        (at(14, 1), None),
        (at(14, 2), math.nan),
        (at(14, 3), "NaN"),
        (at(14, 4), "+Inf"),
        (at(14, 5), "0.25"),
    ]
    series = InMemoryMetricSource({"q": pairs}).query_range("q", at(14), at(14, 5), 60)
    assert [s.value for s in series.samples] == [0.5, None, None, None, None, 0.25]
    assert series.non_finite == 3
    assert series.present() == [(at(14, 0), 0.5), (at(14, 5), 0.25)]


def test_non_finite_count_is_per_answer():
    """Only the non-finite samples inside the window are counted."""
    pairs = [(at(14, 0), "NaN"), (at(14, 1), 1.0), (at(14, 2), "NaN")]
    series = InMemoryMetricSource({"q": pairs}).query_range("q", at(14, 1), at(14, 5), 60)
    assert series.non_finite == 1


@pytest.mark.parametrize("step", [0, -60, math.nan, math.inf, True])
def test_a_bad_step_is_rejected(step):
    """The step must be a positive, finite number of seconds."""
    source = InMemoryMetricSource({"q": [(at(14), 1.0)]})
    with pytest.raises(InvalidInputError, match="step"):
        source.query_range("q", at(13), at(15), step)


def test_bad_series_are_rejected_when_built():
    """A non-numeric value, a naive instant or a repeated instant fails at construction."""
    with pytest.raises(InvalidInputError, match=r"series 'q'.*not a number"):
        InMemoryMetricSource({"q": [(at(14), "lots")]})
    with pytest.raises(NaiveDatetimeError, match="series 'q'"):
        InMemoryMetricSource({"q": [(dt.datetime(2026, 11, 20, 14), 1.0)]})  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match="same instant"):
        InMemoryMetricSource({"q": [(at(14), 1.0), (at(14), 2.0)]})


def test_metric_source_lists_its_queries():
    """The source says which query strings it holds."""
    source = InMemoryMetricSource({"b": [], "a": [(at(14), 1.0)]})
    assert source.queries == ("a", "b")


# --------------------------------------------------------------------------- rollback


def test_rollback_option_for_the_live_change():
    """A deploy with a previous version gets one option from the live version, without caveats."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"}, name="spin")
    (option,) = executor.options(change("d1"))
    assert option.id == "spin:d1"
    assert option.executor == "spin"
    assert option.change_id == "d1"
    assert option.target == "checkout"
    assert (option.from_version, option.to_version) == ("v2", "v1")
    assert option.caveats == ()
    assert option.supports_dry_run


def test_no_option_for_unhandled_kinds_or_without_a_previous_version():
    """Infrastructure, dependency and version-less changes get no option."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2", "pool": "1.30"})
    assert executor.options(change("n", ChangeKind.INFRASTRUCTURE, service="pool")) == []
    assert executor.options(change("s", ChangeKind.DEPENDENCY)) == []
    assert executor.options(change("d", previous_version=None)) == []
    custom = InMemoryRollbackExecutor(
        live_versions={"pool": "1.30"}, kinds={ChangeKind.INFRASTRUCTURE}
    )
    assert len(custom.options(change("n", ChangeKind.INFRASTRUCTURE, service="pool"))) == 1
    assert custom.options(change("d")) == []


def test_caveats_for_auto_sync_and_a_superseded_change():
    """Auto-synced targets get AUTOMATED_SYNC; a change no longer live gets OTHER."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v3"}, auto_synced=["checkout"])
    (option,) = executor.options(change("d1", version="v2", previous_version="v1"))
    kinds = [c.kind for c in option.caveats]
    assert kinds == [CaveatKind.AUTOMATED_SYNC, CaveatKind.OTHER]
    assert "later changes" in option.caveats[1].detail
    assert option.from_version == "v3"


def test_caveat_when_the_live_version_is_unknown():
    """A target missing from the version table gets an OTHER caveat and no from_version."""
    executor = InMemoryRollbackExecutor(live_versions={})
    (option,) = executor.options(change("d1"))
    assert option.from_version is None
    assert [c.kind for c in option.caveats] == [CaveatKind.OTHER]
    assert executor.current_version("checkout") is None


def test_dry_run_rehearses_without_changing_anything():
    """A dry run succeeds when the target still runs the expected version, and changes nothing."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    result = executor.dry_run(option)
    assert result.succeeded
    assert result.dry_run
    assert result.option_id == option.id
    assert result.live_version == "v2"
    assert executor.current_version("checkout") == "v2"
    assert executor.executed == []


def test_execute_rolls_back_and_records_the_result():
    """Executing sets the live version to the option's target version and keeps a history."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2", "search": "v9"})
    (option,) = executor.options(change("d1"))
    result = executor.execute(option)
    assert result.succeeded
    assert not result.dry_run
    assert result.live_version == "v1"
    assert executor.current_version("checkout") == "v1"
    assert executor.current_version("search") == "v9"
    assert executor.executed == [result]
    assert executor.live_versions == {"checkout": "v1", "search": "v9"}


def test_a_version_changed_since_the_review_is_a_conflict():
    """A target changed since the review fails the dry run and the rollback."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    executor.execute(option)
    rehearsal = executor.dry_run(option)
    assert not rehearsal.succeeded
    assert "someone changed it" in rehearsal.detail
    with pytest.raises(RollbackFailedError, match="runs v1 now, not v2") as info:
        executor.execute(option)
    assert info.value.source == executor.name
    assert executor.current_version("checkout") == "v1"
    assert len(executor.executed) == 1


def test_an_unknown_target_cannot_be_rolled_back():
    """A target missing from the version table fails the rehearsal and the rollback."""
    executor = InMemoryRollbackExecutor(live_versions={})
    (option,) = executor.options(change("d1"))
    assert not executor.dry_run(option).succeeded
    with pytest.raises(RollbackFailedError, match="does not manage 'checkout'"):
        executor.execute(option)
    assert executor.live_versions == {}


def test_an_executor_without_dry_run():
    """With supports_dry_run=False the options say so and dry_run raises a SourceError."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"}, supports_dry_run=False)
    (option,) = executor.options(change("d1"))
    assert not option.supports_dry_run
    with pytest.raises(SourceError, match="cannot rehearse"):
        executor.dry_run(option)


def test_an_option_of_another_executor_is_refused():
    """An executor only carries out the options it offered."""
    mine = InMemoryRollbackExecutor(live_versions={"checkout": "v2"}, name="a")
    other = InMemoryRollbackExecutor(live_versions={"checkout": "v2"}, name="b")
    (option,) = other.options(change("d1"))
    with pytest.raises(InvalidInputError, match="offered by 'b'"):
        mine.execute(option)
    assert mine.current_version("checkout") == "v2"


FORGERIES = {
    "another id": {"id": "memory-rollback:d9"},
    "another change": {"change_id": "d9"},
    "another target": {"target": "search"},
    "another version to return to": {"to_version": "v0"},
    "another version to revert from": {"from_version": "v7"},
    "rehearsable when it is not": {"supports_dry_run": False},
    "a target shaped like a kubectl option": {"target": "--kubeconfig=/tmp/evil"},
    "a target shaped like a short option": {"target": "-v=9"},
    "a target shaped like a git option": {"target": "--upload-pack=x"},
}


@pytest.mark.parametrize("changed", FORGERIES.values(), ids=FORGERIES.keys())
def test_an_option_it_never_offered_is_refused(changed):
    """dry_run and execute refuse an option it did not offer, naming what it offered."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2", "search": "v9"})
    (option,) = executor.options(change("d1"))
    forged = attrs.evolve(option, **changed)
    for act in (executor.dry_run, executor.execute):
        with pytest.raises(InvalidInputError, match="nothing was done") as info:
            act(forged)
        assert (
            "It offered: 'memory-rollback:d1' (change 'd1', target 'checkout', 'v2' -> 'v1')"
            in (str(info.value))
        )
    assert executor.live_versions == {"checkout": "v2", "search": "v9"}
    assert executor.executed == []
    assert executor.dry_run(option).succeeded  # the option it offered still rehearses


@given(
    field=st.sampled_from(["id", "change_id", "target", "from_version", "to_version"]),
    value=texts(),
)
def test_whatever_field_is_changed_the_option_is_refused(field, value):
    """Any text in place of any field of the option offered is refused, and nothing changes."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    assume(getattr(option, field) != value)
    forged = attrs.evolve(option, **{field: value})
    for act in (executor.dry_run, executor.execute):
        with pytest.raises(InvalidInputError, match="nothing was done"):
            act(forged)
    assert executor.live_versions == {"checkout": "v2"}


def test_a_changed_option_is_told_from_an_unknown_one():
    """The refusal names the fields that differ from the offer under its id, or says none has it."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    with pytest.raises(InvalidInputError, match="target '-v=9', offered 'checkout'"):
        executor.execute(attrs.evolve(option, target="-v=9"))
    with pytest.raises(InvalidInputError, match="never offered an option 'memory-rollback:d9'"):
        executor.execute(attrs.evolve(option, id="memory-rollback:d9"))
    with pytest.raises(InvalidInputError, match="expected a RollbackOption it offered, not dict"):
        executor.execute({"id": option.id})  # type: ignore[arg-type]


def test_the_caveats_the_incident_adds_do_not_matter():
    """An offered option with other caveats (the review adds its own) is still the one offered."""
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    noted = attrs.evolve(option, caveats=(Caveat(CaveatKind.NO_DRY_RUN, "added by the review"),))
    assert executor.dry_run(noted).succeeded
    assert executor.execute(noted).live_version == "v1"


def test_an_executor_that_offered_nothing_refuses_everything():
    """A new executor without known changes refuses even a genuine option of a twin."""
    twin = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = twin.options(change("d1"))
    fresh = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    with pytest.raises(InvalidInputError, match=r"It offered: nothing yet \(ask options"):
        fresh.dry_run(option)
    assert fresh.live_versions == {"checkout": "v2"}


def test_after_a_resume_it_accepts_what_it_would_offer_now_for_a_known_change():
    """Built with the changes, a new executor accepts the option it would offer for one now.

    The version it reverts from is checked against the live one (a conflict, as for any
    option); every other field must be the one it would offer, or the option is refused.
    """
    before = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = before.options(change("d1"))
    after = InMemoryRollbackExecutor(live_versions={"checkout": "v2"}, changes=[change("d1")])
    for changed in FORGERIES.values():
        if "from_version" not in changed:
            with pytest.raises(InvalidInputError, match="nothing was done") as info:
                after.execute(attrs.evolve(option, **changed))
            if "change_id" not in changed:
                assert "'v2' -> 'v1'), what it would offer now for 'd1'" in str(info.value)
    assert not after.dry_run(attrs.evolve(option, from_version="v7")).succeeded
    with pytest.raises(RollbackFailedError, match="someone changed it"):
        after.execute(attrs.evolve(option, from_version="v7"))
    assert after.dry_run(option).succeeded
    assert after.execute(option).live_version == "v1"
    with pytest.raises(RollbackFailedError, match="runs v1 now, not v2"):
        after.execute(option)


def test_a_resumed_incident_rolls_back_with_the_datasets_new_executor(tmp_path):
    """After a resume the dataset's new executor carries out the option; a stranger refuses it.

    The stranger has the same name and versions but knows none of the changes.
    """
    dataset = load_dataset(EXAMPLE)
    path = tmp_path / "incident.jsonl"
    declared = Incident.declare(
        title="checkout 5xx",
        services=["checkout"],
        actor="dana",
        detection=Detection.ALERT,
        detected_at=at(14, 9),
        journal=path,
        clock=ManualClock(at(14, 11)),
    )
    assessed = declared.assess_impact(actor="dana", ongoing=True, severity=Severity.SEV2)
    assessed = assessed.gather_changes(actor="sam", deploys=[dataset.deploy_source()])
    assessed.review_rollbacks([dataset.rollback_executor()], actor="sam")

    resumed = Incident.resume(path, clock=ManualClock(at(14, 31)))
    assert isinstance(resumed, Reviewed)
    option = next(o for o in resumed.rollback_options if o.change_id == "deploy-4812")
    stranger = InMemoryRollbackExecutor(live_versions=dataset.live_versions, name=option.executor)
    with pytest.raises(RollbackFailedError, match="never offered an option"):
        resumed.roll_back(option, actor="sam", executor=stranger)
    assert stranger.live_versions == dataset.live_versions
    executor = dataset.rollback_executor()
    intervened = resumed.roll_back(option, actor="sam", executor=executor)
    assert isinstance(intervened, Intervened)
    assert executor.current_version("checkout") == "v2.13.3"


def test_the_executor_copies_the_version_table():
    """Changing the caller's mapping afterwards does not change the executor's table."""
    table = {"checkout": "v2"}
    executor = InMemoryRollbackExecutor(live_versions=table)
    table["checkout"] = "v9"
    assert executor.current_version("checkout") == "v2"


# --------------------------------------------------------------------------- the shipped dataset


def test_the_example_dataset_loads():
    """The shipped example has its six changes, four series and the adapters it names."""
    dataset = load_dataset(EXAMPLE)
    assert len(dataset.changes) == 6
    kinds = sorted(c.kind.value for c in dataset.changes)
    assert kinds == ["config", "dependency", "deploy", "deploy", "deploy", "infrastructure"]
    assert set(dataset.metrics) == {ERRORS, TRAFFIC, BAD_COUNT, TOTAL_COUNT}
    assert dataset.metrics[ERRORS].unit == "ratio"
    assert dataset.metrics[TRAFFIC].unit == "req/s"
    assert dataset.metrics[BAD_COUNT].unit == dataset.metrics[TOTAL_COUNT].unit == "requests"
    assert dataset.live_versions["checkout"] == "v2.14.0"
    assert dataset.deploy_source().name == "spinnaker"
    assert dataset.change_source().name == "terraform"
    assert dataset.dependency_source().name == "statuspage"
    assert dataset.metric_source().name == "prometheus"
    assert dataset.rollback_executor().name == "spinnaker-rollback"


def test_the_example_counts_agree_with_its_ratio_and_traffic():
    """The seeded counts (examples/data/make_counts.py) are the ratio and traffic, with noise."""
    dataset = load_dataset(EXAMPLE)
    series = {
        name: dict(dataset.metrics[name].samples)
        for name in (ERRORS, TRAFFIC, BAD_COUNT, TOTAL_COUNT)
    }
    assert len(series[BAD_COUNT]) == len(series[ERRORS]) == 241
    for at, share in series[ERRORS].items():
        bad, total = series[BAD_COUNT][at], series[TOTAL_COUNT][at]
        if share is None:  # the failed scrape is a gap in every series
            assert bad is None
            assert total is None
            continue
        assert bad is not None
        assert total is not None
        expected = 60 * series[TRAFFIC][at]
        assert abs(total - expected) <= 5 * math.sqrt(expected)
        assert abs(bad - total * share) <= 5 * math.sqrt(total * share * (1 - share))
        assert bad == int(bad)
        assert 0 <= bad <= total


def test_the_example_scenario_instants():
    """The scenario's instants parse and come in the story's order."""
    dataset = load_dataset(EXAMPLE)
    keys = [
        "symptom_start",
        "detected_at",
        "declared_at",
        "assessed_at",
        "rolled_back_at",
        "verified_at",
        "resolved_at",
    ]
    instants = [dataset.scenario_instant(key) for key in keys]
    assert instants == sorted(instants)
    assert instants[0] == at(14, 7)
    assert dataset.scenario["title"] == "Checkout returns 5xx"
    assert dataset.scenario["error_query"] == ERRORS


def test_the_example_error_ratio_jumps_after_the_deploy_and_recovers():
    """The 5xx ratio is near 0.002 before 14:07, near 0.18 until the rollback, and back after."""
    metrics = load_dataset(EXAMPLE).metric_source()
    series = metrics.query_range(ERRORS, at(12), at(16), 60)
    assert len(series) == 241
    before = [v for t, v in series.present() if t < at(14, 7)]
    during = [v for t, v in series.present() if at(14, 8) <= t <= at(14, 31)]
    after = [v for t, v in series.present() if t >= at(14, 34)]
    assert max(before) < 0.004
    assert 0.0015 < sum(before) / len(before) < 0.0025
    assert min(during) > 0.15
    assert 0.17 < sum(during) / len(during) < 0.19
    assert max(after) < 0.004
    assert len(after) == 87  # every minute from 14:34 to 16:00: no gap after the rollback
    gaps = [s.at for s in series.samples if s.value is None]
    assert gaps == [at(12, 47)]


def test_the_example_traffic_dips_but_never_collapses():
    """Traffic stays near 850 req/s and dips a few percent during the outage."""
    metrics = load_dataset(EXAMPLE).metric_source()
    before = [v for _, v in metrics.query_range(TRAFFIC, at(13, 7), at(14, 6), 60).present()]
    during = [v for _, v in metrics.query_range(TRAFFIC, at(14, 8), at(14, 31), 60).present()]
    mean_before = sum(before) / len(before)
    mean_during = sum(during) / len(during)
    assert 820 < mean_before < 880
    assert 0.9 < mean_during / mean_before < 0.99
    assert min(during) > 0.85 * mean_before


def test_the_example_window_finds_the_usual_suspects():
    """A window around the symptom finds the recent changes but not the morning deploy."""
    dataset = load_dataset(EXAMPLE)
    window = (at(13, 7), at(14, 9))
    assert [c.id for c in dataset.deploy_source().deploys(*window)] == [
        "cfg-payments-311",
        "deploy-4809",
        "deploy-4812",
    ]
    assert [c.id for c in dataset.change_source().changes(*window)] == ["infra-nodepool-77"]
    assert dataset.dependency_source().incidents(*window) == []
    assert [c.id for c in dataset.dependency_source().incidents(at(14, 9), at(14, 31))] == [
        "status-stripe-9921"
    ]
    six_hours = dataset.deploy_source().deploys(at(8, 7), at(14, 9), services=["checkout"])
    assert [c.id for c in six_hours] == ["deploy-4790", "deploy-4812"]


def test_the_example_rollback_of_the_bad_deploy():
    """The dataset's executor rolls checkout back from v2.14.0 to v2.13.3."""
    dataset = load_dataset(EXAMPLE)
    bad = next(c for c in dataset.changes if c.id == "deploy-4812")
    executor = dataset.rollback_executor()
    (option,) = executor.options(bad)
    assert (option.from_version, option.to_version) == ("v2.14.0", "v2.13.3")
    assert option.caveats == ()
    assert executor.dry_run(option).succeeded
    assert executor.execute(option).live_version == "v2.13.3"
    assert dataset.rollback_executor().current_version("checkout") == "v2.14.0"


# --------------------------------------------------------------------------- round trips


def test_the_example_round_trips(tmp_path):
    """Dumping the example and loading it back gives an equal dataset."""
    dataset = load_dataset(EXAMPLE)
    path = tmp_path / "copy.json"
    dump_dataset(dataset, path)
    assert load_dataset(path) == dataset


def test_a_built_dataset_round_trips_with_both_encodings(tmp_path):
    """A regular series is written compactly, an irregular one as pairs, and both load back."""
    regular = MetricData(samples=[(at(14, m), 0.1 * m) for m in range(5)], unit="ratio")
    irregular = MetricData(samples=[(at(14), 1.0), (at(14, 1), None), (at(14, 7, 30), 2.5)])
    dataset = Dataset(
        description="built in Python",
        scenario={"title": "t"},
        sources={"metrics": "prom"},
        changes=[change("b", started=at(14, 1)), change("a", ChangeKind.DEPENDENCY)],
        metrics={"regular": regular, "irregular": irregular},
        live_versions={"checkout": "v2"},
        auto_synced=["checkout"],
    )
    body = dataset.to_dict()
    assert set(body["metrics"]["regular"]) == {"unit", "start", "step", "values"}
    assert body["metrics"]["regular"]["step"] == 60
    assert set(body["metrics"]["irregular"]) == {"unit", "samples"}
    path = tmp_path / "built.json"
    dump_dataset(dataset, path)
    again = load_dataset(path)
    assert again == dataset
    assert [c.id for c in again.changes] == ["a", "b"]


def test_non_finite_values_round_trip_as_strings(tmp_path):
    """NaN and infinities are written as Prometheus strings and stay non-finite."""
    data = MetricData(samples=[(at(14), math.nan), (at(14, 1), math.inf), (at(14, 2), -math.inf)])
    path = tmp_path / "nan.json"
    dump_dataset(Dataset(metrics={"q": data}), path)
    assert json.loads(path.read_text())["metrics"]["q"]["values"] == ["NaN", "+Inf", "-Inf"]
    assert load_dataset(path) == Dataset(metrics={"q": data})
    series = load_dataset(path).metric_source().query_range("q", at(14), at(15), 60)
    assert [s.value for s in series.samples] == [None, None, None]
    assert series.non_finite == 3


def test_samples_encoding_accepts_unix_seconds_and_offsets(tmp_path):
    """Sample instants may be Unix seconds or ISO strings with any offset."""
    samples = [[at(14).timestamp(), 1], ["2026-11-20T15:01:00+01:00", "2"]]
    path = write_json(tmp_path, minimal_dataset(metrics={"q": {"samples": samples}}))
    assert load_dataset(path).metrics["q"].samples == ((at(14), 1.0), (at(14, 1), 2.0))


# --------------------------------------------------------------------------- malformed files


def test_a_naive_datetime_names_its_json_path(tmp_path):
    """A change instant without an offset is reported at its path, with an example fix."""
    data = minimal_dataset()
    data["changes"][0]["started"] = "2026-11-20T14:02:00"  # type: ignore[index]
    message = load_error(tmp_path, data)
    assert "changes[0].started: naive datetime '2026-11-20T14:02:00'" in message
    assert "2026-11-20T14:02:00Z" in message


def test_a_wrong_kind_names_the_allowed_kinds(tmp_path):
    """An unknown change kind is reported at its path with the kinds allowed."""
    data = minimal_dataset()
    data["changes"][0]["kind"] = "deploymnet"  # type: ignore[index]
    message = load_error(tmp_path, data)
    assert "changes[0].kind: 'deploymnet' is not a change kind" in message
    assert "deploy, feature_flag" in message


def test_missing_and_unknown_change_fields(tmp_path):
    """Missing required fields and unknown fields are each reported at their path."""
    data = minimal_dataset(changes=[{"kind": "deploy", "colour": "red"}])
    message = load_error(tmp_path, data)
    assert "changes[0].id: required field missing" in message
    assert "changes[0].service: required field missing" in message
    assert "changes[0].started: required field missing" in message
    assert "unknown field(s) colour" in message


def test_a_non_string_attribute_is_reported(tmp_path):
    """Change attributes are strings; a boolean is reported with the quoted form to write."""
    data = minimal_dataset()
    data["changes"][0]["attributes"] = {"schema_migration": False}  # type: ignore[index]
    message = load_error(tmp_path, data)
    assert "changes[0].attributes['schema_migration']: expected a string" in message
    assert '"false"' in message


def test_a_change_that_ends_before_it_starts(tmp_path):
    """The model's own checks are reported at the change's path."""
    data = minimal_dataset()
    data["changes"][0]["finished"] = "2026-11-20T14:00:00Z"  # type: ignore[index]
    assert "changes[0]: change 'd1' finished" in load_error(tmp_path, data)


def test_repeated_change_ids_are_reported(tmp_path):
    """Two changes with the same id are an error naming both positions."""
    data = minimal_dataset()
    data["changes"].append(dict(data["changes"][0]))  # type: ignore[attr-defined,index]
    assert "changes[1].id: the id 'd1' is already used by changes[0]" in load_error(tmp_path, data)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("incidentkit.dataset/2", "'incidentkit.dataset/2' is not a format"),
        (None, "None is not a format"),
    ],
)
def test_an_unknown_format_version(tmp_path, value, expected):
    """A format value other than incidentkit.dataset/1 is refused before anything else."""
    message = load_error(tmp_path, minimal_dataset(format=value, changes="garbage"))
    assert f"format: {expected}" in message
    assert "changes" not in message


def test_a_missing_format(tmp_path):
    """A file without a format value is refused, saying which one is expected."""
    data = minimal_dataset()
    del data["format"]
    assert "format: missing; expected 'incidentkit.dataset/1'" in load_error(tmp_path, data)


def test_a_non_numeric_metric_string_names_its_path(tmp_path):
    """A value that is not a number is reported at its exact JSON path."""
    query = 'rate(x{code=~"5.."}[5m])'
    data = minimal_dataset(
        metrics={query: {"start": "2026-11-20T14:00:00Z", "step": 60, "values": [1, "NaN", "high"]}}
    )
    message = load_error(tmp_path, data)
    assert 'metrics["rate(x{code=~\\"5..\\"}[5m])"].values[2]: "high" is not a number' in message


def test_bad_metric_shapes(tmp_path):
    """A bad step, a metric without an encoding and a malformed pair are each reported."""
    data = minimal_dataset(
        metrics={
            "a": {"start": "2026-11-20T14:00:00Z", "step": 0, "values": [1]},
            "b": {"unit": "ratio"},
            "c": {"samples": [[1, 2, 3], [True, 1]]},
            "d": {"start": "2026-11-20T14:00:00Z", "values": [1]},
            "e": {"samples": [[1, 1]], "step": 60},
        }
    )
    message = load_error(tmp_path, data)
    assert "5 problems" not in message  # more than five: every one is listed
    assert "metrics.a.step: expected a positive number of seconds, got 0" in message
    assert 'metrics.b: expected either "samples"' in message
    assert "metrics.c.samples[0]: expected a pair [instant, value]" in message
    assert "metrics.c.samples[1][0]: expected Unix seconds or an ISO 8601 instant" in message
    assert "metrics.d.step: required field missing" in message
    assert "metrics.e.step: unexpected field" in message


def test_repeated_sample_instants(tmp_path):
    """Two samples at the same instant are an error at the metric's path."""
    data = minimal_dataset(metrics={"q": {"samples": [[0, 1], ["1970-01-01T00:00:00Z", 2]]}})
    assert "metrics.q: two samples at the same instant" in load_error(tmp_path, data)


def test_not_json(tmp_path):
    """A file that is not JSON is reported with its line and column."""
    path = tmp_path / "broken.json"
    path.write_text('{"format": "incidentkit.dataset/1",\n  "changes": [,]}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"is not valid JSON: .* at line 2, column 15"):
        load_dataset(path)


def test_bare_nan_and_duplicate_keys_are_not_json(tmp_path):
    """Python's JSON extensions (bare NaN) and repeated keys are refused."""
    path = tmp_path / "nan.json"
    path.write_text('{"format": "incidentkit.dataset/1", "x": NaN}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="NaN is not JSON; write it as the string 'NaN'"):
        load_dataset(path)
    path.write_text('{"format": "incidentkit.dataset/1", "format": "x"}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="'format' appears twice"):
        load_dataset(path)


def test_a_missing_file(tmp_path):
    """A file that does not exist is a clear InvalidInputError naming it."""
    path = tmp_path / "nowhere.json"
    with pytest.raises(InvalidInputError, match=r"nowhere\.json does not exist"):
        load_dataset(path)


def test_top_level_problems(tmp_path):
    """A non-object top level, unknown fields and wrongly typed sections are reported."""
    assert "top level must be a JSON object, not an array" in load_error(tmp_path, [])
    message = load_error(
        tmp_path,
        minimal_dataset(
            extra=1, live_versions={"a": 1}, auto_synced="checkout", sources={"deploy": "x"}
        ),
    )
    assert "extra: unknown field" in message
    assert "live_versions.a: expected a string, got a number" in message
    assert "auto_synced: expected an array, got a string" in message
    assert "sources.deploy: unknown role" in message


def test_from_dict_reports_without_a_file():
    """Dataset.from_dict raises the same errors, naming the dataset instead of a file."""
    with pytest.raises(InvalidInputError, match=r"invalid dataset: changes: expected an array"):
        Dataset.from_dict(minimal_dataset(changes={}))


def test_scenario_instant_errors():
    """A missing scenario key or a value that is not an instant is a clear error."""
    dataset = Dataset(scenario={"title": "x", "when": "2026-11-20T14:00:00"})
    with pytest.raises(InvalidInputError, match="no 'nope'; it has title, when"):
        dataset.scenario_instant("nope")
    with pytest.raises(InvalidInputError, match=r"scenario\.when: naive datetime"):
        dataset.scenario_instant("when")
    with pytest.raises(InvalidInputError, match=r"scenario\.title: 'x' is not an ISO 8601 instant"):
        dataset.scenario_instant("title")


def test_dataset_rejects_unknown_source_roles():
    """Dataset's sources only name the five roles."""
    with pytest.raises(InvalidInputError, match="unknown source role"):
        Dataset(sources={"deploy": "x"})


def test_metric_data_validates_python_pairs():
    """MetricData built in Python sorts its samples and rejects malformed ones."""
    data = MetricData(samples=[(at(14, 1), "2"), (at(14), 1)])
    assert data.samples == ((at(14), 1.0), (at(14, 1), 2.0))
    with pytest.raises(InvalidInputError, match="expected an"):
        MetricData(samples=[(at(14),)])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="got a boolean"):
        MetricData(samples=[(at(14), True)])
    with pytest.raises(InvalidInputError, match='"many" is not a number'):
        MetricData(samples=[(at(14), "many")])
    with pytest.raises(InvalidInputError, match="out of the representable range"):
        MetricData(samples=[(1e20, 1.0)])


def test_an_irregular_series_is_written_as_pairs():
    """A series whose spacing changes is written with the samples encoding."""
    data = MetricData(samples=[(at(14), 1.0), (at(14, 1), 2.0), (at(14, 3), 3.0)])
    body = Dataset(metrics={"q": data}).to_dict()
    assert body["metrics"]["q"] == {
        "unit": "",
        "samples": [
            ["2026-11-20T14:00:00Z", 1.0],
            ["2026-11-20T14:01:00Z", 2.0],
            ["2026-11-20T14:03:00Z", 3.0],
        ],
    }


def test_sub_second_instants_round_trip(tmp_path):
    """Instants with microseconds and fractional steps survive a dump and a load."""
    start = at(14).add(microseconds=250_000)
    data = MetricData(samples=[(start.add(microseconds=500_000 * i), float(i)) for i in range(4)])
    change_at = at(14, 2).add(microseconds=1)
    dataset = Dataset(changes=[change("d", started=change_at)], metrics={"q": data})
    path = tmp_path / "fine.json"
    dump_dataset(dataset, path)
    assert json.loads(path.read_text())["metrics"]["q"]["step"] == 0.5
    assert load_dataset(path) == dataset


def test_more_malformed_values(tmp_path):
    """Numbers where strings belong, out-of-range instants and non-objects are reported."""
    data = minimal_dataset(
        description=3,
        changes=[
            {"id": "a", "kind": "deploy", "service": "x", "started": 1_700_000_000},
            {"id": "b", "kind": "deploy", "service": "x", "started": "9999-12-31T23:59:59-01:00"},
        ],
        metrics={"a": [1, 2], "b": {"samples": [[1e20, 1]]}},
        sources={"deploys": " "},
    )
    message = load_error(tmp_path, data)
    assert "description: expected a string, got a number" in message
    assert "changes[0].started: expected an ISO 8601 instant as a string" in message
    assert (
        "changes[1].started: '9999-12-31T23:59:59-01:00' is out of the representable range"
        in message
    )
    assert "metrics.a: expected an object, got an array" in message
    assert (
        "metrics.b.samples[0][0]: instant 1e+20 (Unix seconds) is out of the representable range"
        in message
    )
    assert "sources.deploys: a source's name must not be empty" in message


def test_a_file_that_is_not_utf8(tmp_path):
    """Bytes that are not UTF-8 are a clear InvalidInputError."""
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"description": "caf\xe9"}')
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        load_dataset(path)


def test_a_directory_is_not_a_dataset_file(tmp_path):
    """An unreadable path is reported as such, not as a raw OSError."""
    with pytest.raises(InvalidInputError, match="cannot read dataset file"):
        load_dataset(tmp_path)


def test_executor_argument_checks():
    """Kinds must be ChangeKind members, and an option stripped of its target version never runs.

    It is not the option offered under that id, so it is refused before anything else.
    """
    with pytest.raises(InvalidInputError, match="ChangeKind members"):
        InMemoryRollbackExecutor(live_versions={}, kinds=["deploy"])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"changes\[1\] is str"):
        InMemoryRollbackExecutor(live_versions={}, changes=[change("d1"), "d2"])  # type: ignore[list-item]
    executor = InMemoryRollbackExecutor(live_versions={"checkout": "v2"})
    (option,) = executor.options(change("d1"))
    aimless = attrs.evolve(option, to_version=None)
    for act in (executor.dry_run, executor.execute):
        with pytest.raises(InvalidInputError, match="to_version None, offered 'v1'"):
            act(aimless)
    assert executor.live_versions == {"checkout": "v2"}


def test_dataset_checks_its_changes_and_keeps_its_repr_short():
    """A Dataset refuses non-changes, and its repr counts series and samples."""
    with pytest.raises(InvalidInputError, match=r"changes\[0\] is int"):
        Dataset(changes=[1])  # type: ignore[list-item]
    dataset = load_dataset(EXAMPLE)
    assert "metrics=<4 series>" in repr(dataset)
    assert repr(dataset.metrics[ERRORS]) == "MetricData(samples=<241 samples>, unit='ratio')"
