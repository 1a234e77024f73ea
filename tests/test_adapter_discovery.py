"""Plugin discovery: adapters registered under the ``incidentkit.adapters`` entry-point group.

A third-party adapter is installed here the way pip installs one: a
``*.dist-info`` directory with ``METADATA`` and ``entry_points.txt`` on
``sys.path``, next to its module. Nothing is mocked: importlib.metadata finds it.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from incidentkit import InvalidInputError
from incidentkit.adapters import ENTRY_POINT_GROUP, AdapterInfo, available_adapters, load_adapter
from incidentkit.protocols import DeploySource

OURS = {
    "git-deploys": "incidentkit.adapters.git:GitDeploySource",
    "github-deployments": "incidentkit.adapters.github:GitHubDeploymentSource",
    "gitops-rollback": "incidentkit.adapters.git:GitOpsRollbackExecutor",
    "kubectl-deploys": "incidentkit.adapters.kubectl:KubectlDeploySource",
    "kubectl-rollout": "incidentkit.adapters.kubectl:KubectlRolloutExecutor",
    "prometheus": "incidentkit.adapters.prometheus:PrometheusMetricSource",
    "statuspage": "incidentkit.adapters.statuspage:StatuspageSource",
}

ACME_MODULE = '''
"""A third-party adapter, as a plugin author would ship it."""

class AcmeDeploySource:
    """Deploys from ACME's CD system."""

    @property
    def name(self):
        return "acme"

    def deploys(self, start, end, *, services=None):
        return []
'''


def install_distribution(directory, dist: str, entry_points: dict[str, str], module: str = ""):
    """Lay out an installed distribution under ``directory``, as pip would."""
    info = directory / f"{dist}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n", encoding="utf-8")
    if module:
        (directory / f"{dist.replace('-', '_')}.py").write_text(module, encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fresh directory on ``sys.path`` to install distributions into."""
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    sys.modules.pop("acme_adapters", None)
    importlib.invalidate_caches()


def test_our_adapters_are_registered_and_load():
    """Every adapter of this package is listed, and loads the class its entry point names."""
    listed = {a.name: a for a in available_adapters() if a.distribution == "incidentkit"}
    assert {name: a.target for name, a in listed.items()} == OURS
    for name, target in OURS.items():
        module, _, attribute = target.partition(":")
        loaded = load_adapter(name)
        assert loaded is getattr(importlib.import_module(module), attribute)
        assert listed[name].load() is loaded


def test_a_third_party_adapter_is_discovered_and_loaded(site):
    """An installed distribution's entry point shows up, with its distribution and version."""
    install_distribution(
        site,
        "acme-adapters",
        {"acme-deploys": "acme_adapters:AcmeDeploySource"},
        ACME_MODULE,
    )
    (info,) = [a for a in available_adapters() if a.name == "acme-deploys"]
    assert info == AdapterInfo(
        "acme-deploys", "acme_adapters:AcmeDeploySource", "acme-adapters", "1.2.3"
    )
    adapter_class = load_adapter("acme-deploys")
    assert isinstance(adapter_class, type)
    assert isinstance(adapter_class(), DeploySource)


def test_the_listing_is_sorted_and_imports_nothing(site):
    """Listing does not import the adapters: a broken one cannot break the listing."""
    install_distribution(site, "acme-adapters", {"zzz-broken": "acme_missing:Nope"})
    names = [a.name for a in available_adapters()]
    assert names == sorted(names)
    assert "zzz-broken" in names
    assert "acme_missing" not in sys.modules


def test_an_adapter_that_cannot_be_imported_says_what_to_reinstall(site):
    """A registered adapter whose module is missing is an InvalidInputError naming its package."""
    install_distribution(site, "acme-adapters", {"acme-broken": "acme_missing:Nope"})
    with pytest.raises(InvalidInputError, match=r"cannot be imported.*reinstall acme-adapters"):
        load_adapter("acme-broken")
    (info,) = [a for a in available_adapters() if a.name == "acme-broken"]
    with pytest.raises(InvalidInputError, match="acme_missing"):
        info.load()


def test_an_unknown_name_lists_what_is_installed():
    """Asking for an adapter nobody registered names the ones that are installed."""
    with pytest.raises(InvalidInputError, match=r"no adapter named 'nope'.*prometheus"):
        load_adapter("nope")


def test_two_distributions_registering_one_name_are_refused(site):
    """A name registered twice, to different targets, is ambiguous: refused, both named."""
    install_distribution(site, "acme-adapters", {"dup": "acme_adapters:A"})
    install_distribution(site, "other-adapters", {"dup": "other_adapters:B"})
    with pytest.raises(InvalidInputError, match=r"several adapters.*acme-adapters.*other-adapters"):
        load_adapter("dup")


def test_adapters_are_not_imported_by_the_package():
    """``import incidentkit`` loads no adapter module: they cost import time only when used."""
    code = textwrap.dedent(
        """
        import sys, incidentkit, incidentkit.adapters
        loaded = sorted(m for m in sys.modules if m.startswith("incidentkit.adapters."))
        print(loaded)
        """
    )
    import subprocess  # noqa: PLC0415 - only this test starts a process

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
