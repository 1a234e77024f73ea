from __future__ import annotations

import datetime as dt
import math
import random

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _suspects_reference import reference_rank_suspects
from incidentkit import Change, ChangeKind, InvalidInputError, NaiveDatetimeError
from incidentkit.analysis import (
    Suspect,
    SuspectPolicy,
    SuspectRanking,
    SuspectReason,
    SuspectReasonKind,
    rank_suspects,
)
from incidentkit.analysis._suspects import (
    DEFAULT_KIND_WEIGHTS,
    _before,
    _reason,
    _since,
    _suspect,
)
from strategies import SuspectCase, suspect_cases

ONSET = pendulum.datetime(2026, 11, 20, 12, 0, tz="UTC")
SERVICES = ("checkout", "payments", "search", "stripe", "k8s-prod")
DEPENDS_ON = {"checkout": ["payments", "k8s-prod"], "payments": ["stripe"]}


def change(
    ident: str,
    service: str = "checkout",
    *,
    kind: ChangeKind = ChangeKind.DEPLOY,
    began: float = -10.0,
    ended: float | None = -2.0,
) -> Change:
    """Build a change that began and ended ``began``/``ended`` minutes from the onset."""
    return Change(
        ident,
        kind,
        service,
        ONSET.add(seconds=round(began * 60)),
        None if ended is None else ONSET.add(seconds=round(ended * 60)),
        source="test",
    )


def rank(changes: list[Change], **kwargs: object) -> SuspectRanking:
    """Rank ``changes`` against the onset with checkout affected and the test dependency map."""
    options: dict[str, object] = {"services": ["checkout"], "depends_on": DEPENDS_ON}
    options.update(kwargs)
    return rank_suspects(changes, ONSET, **options)  # type: ignore[arg-type]


def ids(ranking: SuspectRanking) -> list[str]:
    """Return the suspects' ids, best first."""
    return [s.change.id for s in ranking.suspects]


# -- unit tests ------------------------------------------------------------------------


def test_same_service_culprit_beats_a_closer_unrelated_deploy() -> None:
    """A checkout deploy 2 min before outranks a search deploy 1 min before."""
    culprit = change("culprit", began=-12, ended=-2)
    unrelated = change("search-deploy", "search", began=-6, ended=-1)
    ranking = rank([unrelated, culprit])
    assert ids(ranking) == ["culprit", "search-deploy"]
    assert ranking.suspects[0].score == 1.0
    assert ranking.suspects[1].score == pytest.approx(0.25)
    assert not ranking.no_suspect
    assert ranking.top is ranking.suspects[0]


def test_rolling_out_at_the_onset_counts_fully() -> None:
    """A change still rolling out when the symptom began gets the full proximity weight."""
    rolling = change("rolling", began=-50, ended=5)
    ranking = rank([rolling])
    suspect = ranking.suspects[0]
    assert suspect.reasons[0].kind is SuspectReasonKind.ROLLING_OUT_AT_ONSET
    assert suspect.reasons[0].weight == 1.0
    assert suspect.gap == 0.0
    assert suspect.score == 1.0
    assert "still rolling out at the onset (began 50 min before it)" in suspect.reasons[0].detail


def test_proximity_decays_after_the_grace() -> None:
    """A change that finished one half-life after the grace scores half."""
    policy = SuspectPolicy(half_life=1800.0, grace=300.0)
    ranking = rank([change("old", began=-60, ended=-35)], policy=policy)
    assert ranking.suspects[0].score == pytest.approx(0.5)
    assert ranking.suspects[0].gap == 35 * 60
    assert ranking.suspects[0].reasons[0].kind is SuspectReasonKind.TIME_PROXIMITY


def test_changes_after_the_onset_are_listed_apart() -> None:
    """A change that began after the onset is never a suspect, and is said to make it worse."""
    later = change("hotfix", began=1, ended=4)
    before = change("before", began=-30, ended=-20)
    ranking = rank([later, before])
    assert ids(ranking) == ["before"]
    assert ranking.after_onset == (later,)
    assert "began after the onset" in ranking.explanation
    assert "can make it worse" in ranking.explanation


def test_a_change_that_began_at_the_onset_is_a_suspect() -> None:
    """Beginning exactly at the onset is not after it."""
    ranking = rank([change("at", began=0, ended=3)])
    assert ids(ranking) == ["at"]
    assert ranking.suspects[0].reasons[0].detail == "began at the onset"


def test_the_lookback_bounds_the_window() -> None:
    """A change that ended before the lookback is too old; a longer lookback takes it in."""
    old = change("old", began=-7 * 60 - 5, ended=-7 * 60)
    short = rank([old])
    assert short.suspects == ()
    assert short.too_old == (old,)
    longer = rank([old], lookback=dt.timedelta(hours=8))
    assert ids(longer) == ["old"]
    assert longer.too_old == ()
    assert rank([old], lookback=8 * 3600).lookback == 8 * 3600.0


def test_an_old_same_service_deploy_is_never_blamed() -> None:
    """The latest deploy of the service, two days old, is too old: "no suspect" is said."""
    old = change("two-days", began=-2 * 24 * 60, ended=-2 * 24 * 60 + 5)
    ranking = rank([old])
    assert ranking.no_suspect
    assert ranking.top is None
    assert ranking.too_old == (old,)
    assert "no change was under way in the 6 h before the onset" in ranking.explanation
    assert "1 older change ended before the window" in ranking.explanation


def test_a_deploy_to_a_dependency_is_related() -> None:
    """A deploy to a declared dependency scores the dependency weight and says so."""
    ranking = rank([change("payments-deploy", "payments")])
    suspect = ranking.suspects[0]
    assert suspect.reasons[1].kind is SuspectReasonKind.DEPENDENCY
    assert suspect.reasons[1].weight == pytest.approx(0.6)
    assert suspect.reasons[1].detail == "deployed to payments, which checkout depends on"
    assert suspect.score == pytest.approx(0.6)


def test_dependencies_of_dependencies_are_followed() -> None:
    """An outage of stripe, which checkout depends on through payments, is related one hop less."""
    outage = change("stripe-down", "stripe", kind=ChangeKind.DEPENDENCY, began=-20, ended=None)
    suspect = rank([outage]).suspects[0]
    assert suspect.reasons[1].kind is SuspectReasonKind.DEPENDENCY
    assert suspect.reasons[1].weight == pytest.approx(0.6)
    assert "through payments" in suspect.reasons[1].detail
    assert suspect.score == pytest.approx(0.6 * DEFAULT_KIND_WEIGHTS[ChangeKind.DEPENDENCY])


def test_a_dependency_outage_under_way_at_the_onset_ranks_high() -> None:
    """An ongoing outage of a declared dependency beats a fresh unrelated deploy and a stale one."""
    outage = change("payments-down", "payments", kind=ChangeKind.DEPENDENCY, began=-90, ended=None)
    fresh_unrelated = change("search", "search", began=-3, ended=-1)
    stale_same = change("stale", began=-60, ended=-45)
    ranking = rank([fresh_unrelated, stale_same, outage])
    assert ids(ranking)[0] == "payments-down"
    assert ranking.suspects[0].score == pytest.approx(0.8)
    assert (
        ranking.suspects[0].reasons[0].detail
        == "under way at the onset (began 1 h 30 min before it)"
    )


def test_without_a_dependency_map_a_dependency_is_unrelated() -> None:
    """The same payments deploy is unrelated when no map is given."""
    ranking = rank([change("payments-deploy", "payments")], depends_on=None)
    assert ranking.suspects[0].reasons[1].kind is SuspectReasonKind.UNRELATED
    assert ranking.suspects[0].score == pytest.approx(0.25)


def test_no_suspect_is_a_stated_answer() -> None:
    """Nothing related scores enough and nothing was near the onset: "no suspect", all listed."""
    ranking = rank(
        [
            change("search", "search", began=-120, ended=-60),
            change("pay", "payments", began=-300, ended=-290),
        ]
    )
    assert ranking.no_suspect
    assert ranking.top is None
    assert ranking.likely == ()
    assert ranking.near_onset == ()
    assert not ranking.map_may_miss_an_edge
    assert ids(ranking) == ["search", "pay"]
    assert "scores 0.30 or more" in ranking.explanation
    assert "the cause may be outside the sources consulted" in ranking.explanation


def test_a_change_near_the_onset_outside_the_map_is_named_first() -> None:
    """A change to a service missing from the map, a minute before the onset, is named first.

    It scores about 0.14 (unrelated, its share of a missing edge with the search
    deploy 40 min before), under min_score; a related deploy two hours earlier
    scores less still. Still "no suspect", but the near one is named first and
    the map suspected.
    """
    ranking = rank(
        [
            change("old-pay", "payments", began=-130, ended=-120),
            change("cache", "cache-cluster", kind=ChangeKind.INFRASTRUCTURE, began=-3, ended=-1),
            change("search", "search", began=-50, ended=-40),
        ]
    )
    assert ranking.no_suspect
    assert ids(ranking) == ["cache", "old-pay", "search"]  # the near one scores best here
    assert [s.change.id for s in ranking.near_onset] == ["cache"]
    assert ranking.top is None
    assert ranking.likely == ()
    assert ranking.map_may_miss_an_edge
    assert ranking.explanation.startswith(
        "no related suspect: no change in the 6 h before the onset scores 0.30 or more; "
        "nearest unrelated: "
        "infrastructure cache of cache-cluster"
    )
    assert "The dependency map may be missing an edge: does checkout depend on cache-cluster?" in (
        ranking.explanation
    )


def test_a_change_under_way_at_the_onset_outside_the_map_is_named() -> None:
    """Rolling out at the onset counts as near, whatever the service."""
    ranking = rank([change("search", "search", began=-5, ended=None)])
    assert [s.change.id for s in ranking.near_onset] == ["search"]
    assert "still rolling out at the onset" in ranking.explanation


def test_the_best_scoring_change_keeps_first_place_ahead_of_the_near_ones() -> None:
    """A related change that scores best, though under min_score, stays first."""
    ranking = rank(
        [
            change("pay", "payments", began=-40, ended=-20),  # related, decayed: 0.6 x 0.79
            change("cache", "cache-cluster", began=-3, ended=-1),  # unrelated, near: 0.25
        ],
        min_score=0.5,
    )
    assert ranking.no_suspect
    assert ids(ranking) == ["pay", "cache"]
    assert [s.change.id for s in ranking.near_onset] == ["cache"]


def test_a_related_suspect_keeps_the_unrelated_near_change_out_of_the_lead() -> None:
    """When a related suspect scores enough, near unrelated changes are ranked as before."""
    ranking = rank([change("cache", "cache-cluster", began=-3, ended=-1), change("co")])
    assert ids(ranking) == ["co", "cache"]
    assert ranking.near_onset == ()
    assert not ranking.map_may_miss_an_edge


def test_changes_outside_the_map_share_the_weight_of_a_missing_edge() -> None:
    """Four unrelated changes near the onset share 0.25; a related one 105 min old outranks them.

    The checkout deploy finished 105 min before the onset scores 30 / (30 + 100),
    about 0.23; each of the four unrelated changes within the grace has a quarter
    of 0.25. Alone, one of them keeps the whole 0.25 and ranks first.
    """
    crowd = [
        change(f"near-{number}", service, began=-8, ended=-number)
        for number, service in enumerate(("search", "ads", "wiki", "ci"), start=1)
    ]
    culprit = change("co", began=-115, ended=-105)
    ranking = rank([*crowd, culprit])
    assert ids(ranking)[0] == "co"
    shared = [s for s in ranking.suspects if s.change.id.startswith("near-")]
    assert [s.reasons[1].weight for s in shared] == [pytest.approx(0.25 / 4)] * 4
    assert all("shared among 4.0 such changes" in s.reasons[1].detail for s in shared)
    assert [s.change.id for s in ranking.near_onset] == ["near-1", "near-2", "near-3", "near-4"]
    alone = rank([crowd[0], culprit])
    assert ids(alone) == ["near-1", "co"]
    assert alone.suspects[0].score == pytest.approx(0.25)


def test_near_changes_alternate_with_related_ones() -> None:
    """With no suspect, the near changes alternate with the related ones after the best.

    A crowd of changes outside the map near the onset does not push a related
    change with weaker time evidence out of the first three.
    """
    crowd = [
        change(f"near-{number}", service, began=-8, ended=-number)
        for number, service in enumerate(("search", "ads", "wiki"), start=1)
    ]
    own = change("co", began=-115, ended=-105)
    dependency = change("pay", "payments", began=-70, ended=-60)
    ranking = rank([*crowd, dependency, own])
    assert ranking.no_suspect
    assert [s.change.id for s in ranking.near_onset] == ["near-1", "near-2", "near-3"]
    assert ids(ranking) == ["co", "near-1", "pay", "near-2", "near-3"]


def test_proximity_has_a_heavy_tail() -> None:
    """Past the grace, a finished change's proximity halves after a half-life, thirds after two.

    Delays from a change to its symptom are mostly minutes but sometimes hours (a
    leak, a cache expiring, the daily peak reaching new code): the weight is
    ``half_life / (half_life + gap - grace)``, a half at one half-life, a third at
    two, a thirteenth at six.
    """
    finished = [
        change(f"co-{minutes}", began=-minutes - 5, ended=-minutes) for minutes in (35, 65, 185)
    ]
    ranking = rank(finished)
    weights = {s.change.id: s.reasons[0].weight for s in ranking.suspects}
    assert weights == {
        "co-35": pytest.approx(1 / 2),
        "co-65": pytest.approx(1 / 3),
        "co-185": pytest.approx(1 / 7),
    }
    assert ids(ranking) == ["co-35", "co-65", "co-185"]


def test_infrastructure_under_a_service_counts_one_hop_less() -> None:
    """A change to the cluster checkout runs on counts as checkout; a dependency's deploy not."""
    cluster = change("k8s", "k8s-prod", kind=ChangeKind.INFRASTRUCTURE, began=-12, ended=-8)
    deploy = change("pay", "payments", began=-12, ended=-8)
    far = change("pay-k8s", "stripe", kind=ChangeKind.INFRASTRUCTURE, began=-12, ended=-8)
    ranking = rank([deploy, cluster, far])
    related = {s.change.id: s.reasons[1].weight for s in ranking.suspects}
    assert related == {"k8s": 1.0, "pay": pytest.approx(0.6), "pay-k8s": pytest.approx(0.6)}
    assert ids(ranking) == ["k8s", "pay", "pay-k8s"]


def test_an_incident_outside_the_map_does_not_share_with_changes() -> None:
    """A dependency's incident outside the map keeps its share of a missing edge beside deploys.

    Three unrelated deploys near the onset share 0.25 among them; the incident of
    a service missing from the map, under way at the onset, keeps 0.25 and ranks
    first of them.
    """
    crowd = [
        change(f"near-{number}", service, began=-8, ended=-number)
        for number, service in enumerate(("search", "ads", "wiki"), start=1)
    ]
    outage = change("db-down", "orders-db", kind=ChangeKind.DEPENDENCY, began=-20, ended=None)
    ranking = rank([*crowd, outage])
    assert ids(ranking)[0] == "db-down"
    assert ranking.suspects[0].reasons[1].weight == pytest.approx(0.25)
    assert all(s.reasons[1].weight == pytest.approx(0.25 / 3) for s in ranking.suspects[1:])
    two = rank([*crowd, outage, change("cdn-down", "cdn", kind=ChangeKind.DEPENDENCY, began=-9)])
    incidents = [s for s in two.suspects if s.change.kind is ChangeKind.DEPENDENCY]
    assert [s.reasons[1].weight for s in incidents] == [pytest.approx(0.125)] * 2
    assert all(
        "shared among 2.0 such incidents of dependencies" in s.reasons[1].detail for s in incidents
    )


def test_min_score_moves_the_line() -> None:
    """Lowering min_score under the best score names the suspect."""
    ranking = rank([change("search", "search")], min_score=0.2)
    assert not ranking.no_suspect
    assert [s.change.id for s in ranking.likely] == ["search"]


def test_empty_input_is_no_suspect() -> None:
    """No changes at all: no suspect, nothing listed, and the explanation says why."""
    ranking = rank([])
    assert ranking.no_suspect
    assert (ranking.suspects, ranking.after_onset, ranking.too_old) == ((), (), ())
    assert ranking.explanation.startswith("no change was under way in the 6 h before the onset")


def test_a_naive_onset_is_rejected() -> None:
    """A naive onset raises NaiveDatetimeError: a time zone is never guessed."""
    with pytest.raises(NaiveDatetimeError, match="onset"):
        rank_suspects([], dt.datetime(2026, 11, 20, 12, 0))  # noqa: DTZ001 - naive on purpose


def test_an_onset_in_another_zone_is_converted() -> None:
    """An aware onset in another zone is the same instant in UTC."""
    paris = pendulum.datetime(2026, 11, 20, 13, 0, tz="Europe/Paris")
    assert rank_suspects([], paris).onset == ONSET


def test_ties_are_broken_deterministically() -> None:
    """Equal scores order by gap, then the later start, then kind, service and id."""
    a = change("a", began=-20, ended=5)
    b = change("b", began=-10, ended=5)
    c = change("c", kind=ChangeKind.CONFIG, began=-10, ended=5)
    d = change("d", kind=ChangeKind.CONFIG, began=-10, ended=5)
    for order in ([a, b, c, d], [d, c, b, a], [c, a, d, b]):
        assert ids(rank(order)) == ["b", "c", "d", "a"]


def test_reasons_mention_the_figures() -> None:
    """The reasons say how long before, which service and what kind, with the weights."""
    suspect = rank([change("culprit", kind=ChangeKind.CONFIG, began=-40, ended=-20)]).suspects[0]
    proximity, relation, kind = suspect.reasons
    assert proximity.detail == (
        "finished 20 min before the onset (half-life 30 min after a 5 min grace)"
    )
    assert relation.detail == "config changed on checkout, the affected service"
    assert kind.detail == "a config change (kind prior 1.00)"
    assert str(relation) == "config changed on checkout, the affected service (x1.00)"
    assert suspect.score == pytest.approx(math.prod(r.weight for r in suspect.reasons))
    assert "score 0.67" in suspect.describe()


def test_a_change_with_no_recorded_end_is_not_rolling_out_forever() -> None:
    """With no end, a deploy is taken as finished rollout_allowance after its start."""
    recent = rank([change("recent", began=-20, ended=None)]).suspects[0]
    assert recent.reasons[0].kind is SuspectReasonKind.ROLLING_OUT_AT_ONSET
    assert recent.reasons[0].detail.startswith("no recorded end")
    old = rank([change("old", began=-180, ended=None)]).suspects[0]
    assert old.gap == 120 * 60
    assert "taken as finished 1 h later, 2 h before the onset" in old.reasons[0].detail
    assert rank([change("ancient", began=-600, ended=None)]).too_old != ()


def test_without_services_relatedness_is_not_judged() -> None:
    """With no affected service, every change gets a neutral relatedness and says why."""
    ranking = rank_suspects([change("search", "search")], ONSET)
    assert ranking.suspects[0].reasons[1].kind is SuspectReasonKind.SERVICE_UNKNOWN
    assert ranking.suspects[0].score == 1.0


def test_a_single_service_name_is_accepted() -> None:
    """``services="checkout"`` means one service, not seven letters."""
    ranking = rank_suspects([change("c")], ONSET, services="checkout")
    assert ranking.suspects[0].reasons[1].kind is SuspectReasonKind.SAME_SERVICE


def test_the_kind_prior_weighs_infrastructure_less() -> None:
    """An infrastructure change scores its kind prior; a custom prior replaces it."""
    infra = change("nodes", "checkout", kind=ChangeKind.INFRASTRUCTURE)
    assert rank([infra]).suspects[0].score == pytest.approx(0.8)
    policy = SuspectPolicy(kind_weights={ChangeKind.INFRASTRUCTURE: 0.5})
    assert rank([infra], policy=policy).suspects[0].score == pytest.approx(0.5)
    assert policy.kind_weights[ChangeKind.DEPLOY] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback": 0}, "lookback"),
        ({"lookback": dt.timedelta(hours=-1)}, "lookback"),
        ({"lookback": float("inf")}, "lookback"),
        ({"min_score": 1.5}, "min_score"),
        ({"min_score": float("nan")}, "min_score"),
        ({"min_score": "0.3"}, "min_score"),
        ({"min_score": None}, "min_score"),
        pytest.param({"min_score": 10**400}, "min_score", id="min_score=10**400"),
        ({"services": ["checkout", " "]}, "services"),
        ({"depends_on": {"checkout": [""]}}, "depends_on"),
        ({"depends_on": "checkout"}, "depends_on must map"),
        ({"depends_on": {"checkout": 5}}, "depends_on"),
        ({"services": None}, "services must be a service name"),
        ({"services": 7}, "services must be a service name"),
        ({"policy": {"half_life": 60}}, "policy must be a SuspectPolicy"),
        ({"policy": "strict"}, "policy must be a SuspectPolicy"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object], match: str) -> None:
    """Each bad argument raises InvalidInputError naming it."""
    with pytest.raises(InvalidInputError, match=match):
        rank([change("c")], **kwargs)


def test_changes_that_are_not_iterable_are_rejected() -> None:
    """None or a lone number for the changes: InvalidInputError, not a TypeError."""
    with pytest.raises(InvalidInputError, match="changes must be an iterable of Change"):
        rank(None)  # type: ignore[arg-type]


def test_a_lookback_near_the_largest_float_reaches_back_as_far_as_can_be() -> None:
    """lookback=1e308 is a (very) long look back, not an OverflowError."""
    ranking = rank([change("c")], lookback=1e308)
    assert [s.change.id for s in ranking.suspects] == ["c"]


def test_a_non_change_is_rejected() -> None:
    """Something that is not a Change raises InvalidInputError with its position."""
    with pytest.raises(InvalidInputError, match="change 1 is str"):
        rank([change("c"), "deploy"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"half_life": 0.0},
        {"grace": -1.0},
        {"dependency_weight": 1.5},
        {"unrelated_weight": float("nan")},
        {"half_life": "1800"},
        {"grace": None},
        pytest.param({"rollout_allowance": 10**400}, id="rollout_allowance=10**400"),
        {"dependency_weight": "0.6"},
        {"kind_weights": {ChangeKind.DEPLOY: "1"}},
        {"kind_weights": {ChangeKind.DEPLOY: 2.0}},
        {"kind_weights": {"deploy": 1.0}},
    ],
)
def test_a_bad_policy_is_rejected(kwargs: dict[str, object]) -> None:
    """A policy weight out of range raises InvalidInputError."""
    with pytest.raises(InvalidInputError):
        SuspectPolicy(**kwargs)  # type: ignore[arg-type]


# -- properties ------------------------------------------------------------------------

MINUTES = st.floats(min_value=-900, max_value=120, allow_nan=False).map(lambda m: round(m, 2))


@st.composite
def changes(draw: st.DrawFn, ident: str | None = None) -> Change:
    """Draw a change around the onset: any kind, one of a few services, maybe with no end."""
    began = draw(MINUTES)
    duration = draw(st.none() | st.floats(min_value=0, max_value=240).map(lambda m: round(m, 2)))
    return change(
        ident or draw(st.sampled_from(["a", "b", "c", "d"])),
        draw(st.sampled_from(SERVICES)),
        kind=draw(st.sampled_from(list(ChangeKind))),
        began=began,
        ended=None if duration is None else began + duration,
    )


@given(
    st.sampled_from(list(ChangeKind)),
    st.sampled_from(SERVICES),
    st.floats(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=300),
)
def test_score_is_monotonic_in_the_gap(
    kind: ChangeKind, service: str, near: float, further: float
) -> None:
    """All else equal, a change that ended further before the onset never scores higher."""
    a = change("near", service, kind=kind, began=-near - 5, ended=-near)
    b = change("far", service, kind=kind, began=-near - further - 5, ended=-near - further)
    near_score = rank([a]).suspects[0].score
    far_ranking = rank([b])
    far_score = far_ranking.suspects[0].score if far_ranking.suspects else 0.0
    assert far_score <= near_score


@given(st.lists(changes(), max_size=12), st.floats(min_value=0, max_value=1))
def test_every_change_lands_in_exactly_one_list(drawn: list[Change], min_score: float) -> None:
    """Suspects, after-onset and too-old partition the input; no after-onset change is a suspect."""
    ranking = rank(drawn, min_score=min_score)
    listed = [s.change for s in ranking.suspects] + list(ranking.after_onset)
    listed += list(ranking.too_old)
    assert sorted(map(repr, listed)) == sorted(map(repr, drawn))
    assert all(s.change.started <= ONSET for s in ranking.suspects)
    assert all(c.started > ONSET for c in ranking.after_onset)
    scores = [s.score for s in ranking.suspects]
    near = ranking.near_onset
    lead = 1 if near and ranking.suspects[0] not in near else 0
    body = ranking.suspects[lead:]
    rest = tuple(s for s in body if s not in near)
    assert tuple(s for s in body if s in near) == near
    both = min(len(near), len(rest))
    # After the best: the near ones alternate with the rest, near first, then what is left.
    assert body[: 2 * both : 2] == near[:both]
    assert body[1 : 2 * both : 2] == rest[:both]
    assert body[2 * both :] == (near[both:] or rest[both:])
    if lead:
        assert scores[0] == max(scores)
    for part in (near, rest):
        assert [s.score for s in part] == sorted((s.score for s in part), reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    for suspect in ranking.suspects:
        assert suspect.score == pytest.approx(math.prod(r.weight for r in suspect.reasons))
    if near:
        assert max(scores) < min_score
        assert all(s.reasons[0].weight == 1.0 for s in near)
    assert ranking.no_suspect == (not scores or max(scores) < min_score)


@given(st.lists(changes(), max_size=10), st.randoms(use_true_random=False))
def test_the_ranking_does_not_depend_on_input_order(drawn: list[Change], rng: object) -> None:
    """Shuffling the changes gives the same ranking."""
    shuffled = list(drawn)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert rank(shuffled) == rank(drawn)


@given(
    st.floats(min_value=0.5, max_value=300),
    st.floats(min_value=0, max_value=240),
    st.lists(changes(), max_size=8),
    changes("zz-extra").map(lambda c: attrs.evolve(c, service="search")),
)
def test_an_unrelated_change_never_displaces_a_culprit_rolling_out(
    began: float, until: float, others: list[Change], extra: Change
) -> None:
    """A same-service deploy rolling out at the onset stays first when an unrelated change joins."""
    culprit = change("culprit", began=-began, ended=until)
    unrelated = [c for c in others if c.service == "search"]
    before = rank([culprit, *unrelated])
    after = rank([culprit, *unrelated, extra])
    assert before.suspects[0].change == culprit
    assert after.suspects[0].change == culprit


# -- the same answers as the straightforward ranking --------------------------------------


def assert_same_ranking(new: SuspectRanking, old: SuspectRanking) -> None:
    """Assert two rankings are the same, value for value and change object for change object."""
    assert repr(new) == repr(old)
    assert new == old
    assert [id(s.change) for s in new.suspects] == [id(s.change) for s in old.suspects]
    assert list(map(id, new.after_onset)) == list(map(id, old.after_onset))
    assert list(map(id, new.too_old)) == list(map(id, old.too_old))


@settings(max_examples=500)
@given(suspect_cases())
def test_the_ranking_is_the_straightforward_one(case: SuspectCase) -> None:
    """Scores, reasons, order and verdict are those of the per-change pendulum computation."""
    new = rank_suspects(case.changes, case.onset, **case.options)  # type: ignore[arg-type]
    old = reference_rank_suspects(case.changes, case.onset, **case.options)  # type: ignore[arg-type]
    assert_same_ranking(new, old)


@pytest.mark.parametrize("resolution", [1, 10**6])
def test_a_long_history_ranks_as_the_straightforward_one(resolution: int) -> None:
    """Two thousand changes to the microsecond or the second, some twice: the same ranking."""
    rng = random.Random(resolution)  # noqa: S311 - reproducible, not a secret
    changes: list[Change] = []
    for index in range(2000):
        began = rng.randrange(-8 * 3600 * 10**6, 1800 * 10**6) // resolution * resolution
        lasted = rng.randrange(0, 1800 * 10**6) // resolution * resolution
        changes.append(
            Change(
                f"c{index % 400}",
                rng.choice(list(ChangeKind)),
                rng.choice(SERVICES),
                ONSET + dt.timedelta(microseconds=began),
                None if rng.random() < 0.1 else ONSET + dt.timedelta(microseconds=began + lasted),
                source="test",
            )
        )
    changes += rng.sample(changes, 100)
    for services in ([], ["checkout"]):
        new = rank(changes, services=services)
        old = reference_rank_suspects(changes, ONSET, services=services, depends_on=DEPENDS_ON)
        assert_same_ranking(new, old)


@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),  # noqa: DTZ001 - made aware by timezones
        timezones=st.just(dt.timezone.utc),
    ),
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.timezone.utc),
    ),
)
def test_seconds_before_the_onset_are_pendulums(first: dt.datetime, second: dt.datetime) -> None:
    """The seconds between two instants are pendulum's figure to the bit, however far apart."""
    onset, instant = (pendulum.instance(t).in_timezone("UTC") for t in sorted((first, second)))
    onset, instant = instant, onset
    assert _before(_since(instant, onset)) == (onset - instant).total_seconds()


def test_the_fast_constructors_build_what_the_classes_do() -> None:
    """Suspect and SuspectReason do nothing in __init__ but set their fields, as ours do."""
    for cls in (Suspect, SuspectReason):
        assert all(f.validator is None and f.converter is None for f in attrs.fields(cls))
        assert not hasattr(cls, "__attrs_post_init__")
        assert not hasattr(cls, "__attrs_pre_init__")
    reason = _reason(SuspectReasonKind.UNRELATED, 0.25, "far away")
    assert repr(reason) == repr(SuspectReason(SuspectReasonKind.UNRELATED, 0.25, "far away"))
    built = change("a")
    suspect = _suspect(built, 0.5, (reason,), 12.0)
    assert repr(suspect) == repr(Suspect(built, 0.5, (reason,), 12.0))
    assert suspect == Suspect(built, 0.5, (reason,), 12.0)
