from __future__ import annotations

import ast
import importlib.metadata
import inspect
import itertools
import pathlib
import subprocess
import sys
import textwrap
import types
import typing

import pytest

import incidentkit
import incidentkit.adapters
import incidentkit.adapters.git
import incidentkit.adapters.github
import incidentkit.adapters.kubectl
import incidentkit.adapters.prometheus
import incidentkit.adapters.statuspage
import incidentkit.analysis
import incidentkit.events
import incidentkit.intake
import incidentkit.memory
import incidentkit.protocols
import incidentkit.reports
import incidentkit.stores
import incidentkit.stores.postgres
import incidentkit.testing
from fakes import (
    FakeChangeSource,
    FakeDependencySource,
    FakeDeploySource,
    FakeExecutor,
    FakeMetricSource,
)

PUBLIC_MODULES = [
    incidentkit,
    incidentkit.adapters,
    incidentkit.adapters.git,
    incidentkit.adapters.github,
    incidentkit.adapters.kubectl,
    incidentkit.adapters.prometheus,
    incidentkit.adapters.statuspage,
    incidentkit.analysis,
    incidentkit.events,
    incidentkit.intake,
    incidentkit.memory,
    incidentkit.protocols,
    incidentkit.reports,
    incidentkit.stores,
    incidentkit.stores.postgres,
    incidentkit.testing,
]
MODULE_IDS = [m.__name__ for m in PUBLIC_MODULES]
PACKAGE_DIR = pathlib.Path(incidentkit.__file__).parent


def defined_in_incidentkit(obj: object) -> bool:
    """Whether ``obj`` is a class or function whose home is the incidentkit package."""
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return False
    module = getattr(obj, "__module__", "") or ""
    return module == "incidentkit" or module.startswith("incidentkit.")


def public_names(module: types.ModuleType) -> list[str]:
    """Return the module's attributes that do not start with an underscore."""
    return [name for name in vars(module) if not name.startswith("_")]


def attribute_docstrings() -> dict[str, str]:
    """Return the docstrings written under module-level assignments anywhere in the package."""
    found: dict[str, str] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        for statement, following in itertools.pairwise(body):
            targets = (
                statement.targets
                if isinstance(statement, ast.Assign)
                else [statement.target]
                if isinstance(statement, ast.AnnAssign)
                else []
            )
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = following.value.value
    return found


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=MODULE_IDS)
def test_all_is_sorted_and_unique(module):
    """Each public module's __all__ is sorted and lists each name once.

    The order is ruff's (RUF022, isort-style): constants, then classes, then the rest.
    """
    names = list(module.__all__)

    def kind(name: str) -> int:
        return 0 if name.isupper() else 1 if name[:1].isupper() else 2

    assert names == sorted(names, key=lambda name: (kind(name), name))
    assert len(names) == len(set(names))


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=MODULE_IDS)
def test_every_name_in_all_exists_and_is_public(module):
    """Every name in __all__ exists on the module and has no leading underscore."""
    for name in module.__all__:
        assert not name.startswith("_"), name
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=MODULE_IDS)
def test_no_public_class_or_function_is_missing_from_all(module):
    """Every public class or function of incidentkit that a module exposes is in its __all__.

    A submodule may import, for its own use, names that the top-level package
    exports: those are public already, in one place.
    """
    exported_elsewhere = set(incidentkit.__all__) if module is not incidentkit else set()
    missing = [
        name
        for name in public_names(module)
        if defined_in_incidentkit(getattr(module, name))
        and name not in module.__all__
        and name not in exported_elsewhere
    ]
    assert missing == []


def test_top_level_exports_every_public_name_of_the_private_modules():
    """Every public type a private module lists in its __all__ is exported by the package."""
    private = {
        "_errors",
        "_incident",
        "_journal",
        "_model",
        "_recovery",
        "_report",
        "_specs",
        "_time",
        "_timeline",
    }
    missing = []
    for name in sorted(private):
        module = importlib.import_module(f"incidentkit.{name}")
        for exported in module.__all__:
            obj = getattr(module, exported)
            is_type = inspect.isclass(obj) or isinstance(obj, types.UnionType)
            if is_type and exported[0].isupper() and exported not in incidentkit.__all__:
                missing.append(f"{name}.{exported}")
    assert missing == []


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=MODULE_IDS)
def test_every_public_name_has_a_docstring(module):
    """Every name in __all__ has its own docstring (attribute docstrings for aliases)."""
    documented = attribute_docstrings()
    undocumented = []
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        else:
            doc = documented.get(name)
        if not (doc and doc.strip()):
            undocumented.append(name)
    assert undocumented == []


def test_module_docstrings():
    """The package and its public modules each have a docstring."""
    for module in PUBLIC_MODULES:
        assert (module.__doc__ or "").strip(), module.__name__


def test_every_protocol_is_runtime_checkable():
    """Each Protocol in incidentkit.protocols can be used with isinstance."""
    protocols = [getattr(incidentkit.protocols, name) for name in incidentkit.protocols.__all__]
    assert protocols
    for protocol in protocols:
        assert issubclass(protocol, typing.Protocol), protocol
        assert getattr(protocol, "_is_runtime_protocol", False), protocol
        assert not isinstance(object(), protocol)


@pytest.mark.parametrize(
    ("adapter", "protocol"),
    [
        (FakeDeploySource(), incidentkit.protocols.DeploySource),
        (FakeChangeSource(), incidentkit.protocols.ChangeSource),
        (FakeDependencySource(), incidentkit.protocols.DependencyStatusSource),
        (FakeMetricSource(), incidentkit.protocols.MetricSource),
        (FakeExecutor(), incidentkit.protocols.RollbackExecutor),
        (incidentkit.ManualClock(0), incidentkit.protocols.Clock),
        (incidentkit.SystemClock(), incidentkit.protocols.Clock),
        (
            incidentkit.adapters.prometheus.PrometheusMetricSource("http://127.0.0.1:9"),
            incidentkit.protocols.MetricSource,
        ),
        (
            incidentkit.adapters.git.GitDeploySource("/nonexistent", paths={"a/": "a"}),
            incidentkit.protocols.DeploySource,
        ),
        (
            incidentkit.adapters.git.GitOpsRollbackExecutor("/nonexistent"),
            incidentkit.protocols.RollbackExecutor,
        ),
        (
            incidentkit.adapters.kubectl.KubectlDeploySource({"checkout": "checkout"}),
            incidentkit.protocols.DeploySource,
        ),
        (
            incidentkit.adapters.kubectl.KubectlRolloutExecutor(["checkout"]),
            incidentkit.protocols.RollbackExecutor,
        ),
        (
            incidentkit.adapters.statuspage.StatuspageSource(
                "http://127.0.0.1:9", dependency="stripe"
            ),
            incidentkit.protocols.DependencyStatusSource,
        ),
        (
            incidentkit.adapters.github.GitHubDeploymentSource("shop/checkout", token=""),
            incidentkit.protocols.DeploySource,
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_adapters_conform_to_their_protocol(adapter, protocol):
    """The fakes, the shipped clocks and the real adapters pass their protocol's shape check."""
    assert isinstance(adapter, protocol)


def test_version_is_the_distributions_version():
    """incidentkit.__version__ is a string, the installed distribution's version."""
    version = incidentkit.__version__
    assert isinstance(version, str)
    assert version == importlib.metadata.version("incidentkit")
    assert version[0].isdigit()


def test_unknown_module_attribute_raises_attribute_error():
    """The lazy module __getattr__ answers only __version__."""
    with pytest.raises(AttributeError, match="no_such_name"):
        incidentkit.no_such_name  # noqa: B018 - the access is the test


def test_every_exported_exception_derives_from_the_root():
    """Every exception incidentkit exports derives from IncidentkitError."""
    exceptions = [
        getattr(incidentkit, name)
        for name in incidentkit.__all__
        if inspect.isclass(getattr(incidentkit, name))
        and issubclass(getattr(incidentkit, name), BaseException)
    ]
    assert len(exceptions) >= 10
    for exception in exceptions:
        assert issubclass(exception, Exception), exception
        assert issubclass(exception, incidentkit.IncidentkitError), exception


def test_event_module_lists_every_event_type():
    """incidentkit.events exports every member of the Event union."""
    members = typing.get_args(incidentkit.events.Event)
    assert members
    for member in members:
        assert member.__name__ in incidentkit.events.__all__
        assert getattr(incidentkit.events, member.__name__) is member


def test_names_loaded_on_first_use_are_their_modules_objects():
    """Each name the package loads on first use is the object its private module defines."""
    for name, module_name in incidentkit._LAZY.items():
        assert name in incidentkit.__all__, name
        assert getattr(incidentkit, name) is getattr(importlib.import_module(module_name), name)
    assert set(incidentkit.__all__) <= set(dir(incidentkit))


# What `import incidentkit` leaves for first use: the converter (cattrs), the events
# and their fold, the steps, the stores, the recovery check, the analyses, the report.
DEFERRED = (
    "cattrs",
    "hashlib",
    "json",
    "typing_extensions",
    "incidentkit._events",
    "incidentkit._gather",
    "incidentkit._recovery",
    "incidentkit._report",
    "incidentkit._specs",
    "incidentkit._state",
    "incidentkit._steps",
    "incidentkit._stored",
    "incidentkit._team",
    "incidentkit._timeline",
    "incidentkit.analysis",
    "incidentkit.stores",
)


def test_import_leaves_the_heavy_parts_for_first_use():
    """``import incidentkit`` loads none of the deferred modules; a declaration loads what it uses.

    Run in a fresh interpreter, since this one has loaded everything. The
    incident is declared in memory, then noted; the lazy names resolve after.
    """
    code = textwrap.dedent(
        f"""
        import sys
        import incidentkit
        deferred = {DEFERRED!r}
        def loaded():
            return sorted(
                d for d in deferred if any(m == d or m.startswith(d + ".") for m in sys.modules)
            )
        print(loaded())
        from incidentkit import Detection, Incident, Report, list_incidents
        from incidentkit.memory import InMemoryJournalStore
        phase = Incident.declare(
            title="t", services="s", actor="a", detection=Detection.ALERT,
            store=InMemoryJournalStore(), incident_id="INC-1",
        )
        phase.note("n", actor="a")
        print(loaded())
        print(Report.__module__, list_incidents.__module__, len(phase.events))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "[]"
    used = set(ast.literal_eval(out[1]))
    assert {"cattrs", "incidentkit._events", "incidentkit._state", "json", "hashlib"} <= used
    assert out[2] == "incidentkit._report incidentkit._team 2"
