"""Kubernetes Deployments through ``kubectl``: rollout history as changes, ``rollout undo``.

:class:`KubectlDeploySource` reads each Deployment's ReplicaSets, the way
``kubectl rollout history`` does, and turns every revision into a
:class:`~incidentkit.Change`. :class:`KubectlRolloutExecutor` offers
``kubectl rollout undo --to-revision=N`` for a revision that went bad,
rehearses it with ``--dry-run=server``, carries it out, waits for the rollout
with ``kubectl rollout status`` and reports the images now live.

Both run the ``kubectl`` binary with an argument list (never a shell), a
timeout and ``-o json`` where they read, through an injectable
:data:`Runner`, so that tests can check every command line. No value from a
user, a journal or the cluster reaches that list as an option: names are
checked against Kubernetes' rules (a Deployment is a DNS-1123 subdomain, a
namespace a DNS-1123 label, a revision a positive integer; a context or a
kubeconfig path may not start with ``-``) and passed only as
``deployment/NAME`` or as the value of ``--flag=value``. A token is never on
the command line: each command reads a kubeconfig of its own, written 0600 in
a private temporary directory and deleted when it ends (the token replaces
the context's user's own, as ``--token`` did). For example::

    source = KubectlDeploySource(
        {"checkout": "checkout", "checkout-worker": "checkout"},
        namespace="shop",
        context="prod-eu",
    )
    executor = KubectlRolloutExecutor(["checkout"], namespace="shop", context="prod-eu")

A version is the pod template's container images, ``name=image`` joined with
``", "`` in the template's order: ``"checkout=registry/checkout:1.4.2"``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pathlib
import re
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final, TypeVar, cast

import attrs
import pendulum

from incidentkit import _arguments
from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    RollbackFailedError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit._model import (
    Caveat,
    CaveatKind,
    Change,
    ChangeKind,
    RollbackOption,
    RollbackResult,
)
from incidentkit.adapters import _fields, _http

__all__ = ["KubectlDeploySource", "KubectlRolloutExecutor", "Runner"]

_T = TypeVar("_T")

Runner = Callable[[Sequence[str], float], subprocess.CompletedProcess[str]]
"""How a command is run: ``runner(argv, timeout)`` returns the finished process.

The default runs ``subprocess.run(argv, capture_output=True, text=True,
timeout=timeout, stdin=DEVNULL)``; it must raise :class:`FileNotFoundError`
when the binary is missing and :class:`subprocess.TimeoutExpired` on a timeout,
as :func:`subprocess.run` does.

.. versionadded:: 0.1.0
"""

_REVISION: Final = "deployment.kubernetes.io/revision"
_REVISION_HISTORY: Final = "deployment.kubernetes.io/revision-history"
_CHANGE_CAUSE: Final = "kubernetes.io/change-cause"
_COMPLETE: Final = "NewReplicaSetAvailable"
_CHANGE_ID: Final = re.compile(r"(?P<deployment>.+)@(?P<revision>[0-9]+)")
_KLOG_LINE: Final = re.compile(r"^[IWEF][0-9]{4} ")
_REVISION_NUMBER: Final = re.compile(r"0*[1-9][0-9]{0,18}")
#: Kubernetes' object names: a DNS-1123 label (namespaces), a DNS-1123 subdomain (Deployments).
_DNS_LABEL: Final = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_KUBECONFIG_USER: Final = "incidentkit-token"
#: Markers of a GitOps controller that re-applies the git state: (where, key, controller).
_GITOPS_MARKERS: Final = (
    ("labels", "argocd.argoproj.io/instance", "Argo CD"),
    ("annotations", "argocd.argoproj.io/tracking-id", "Argo CD"),
    ("labels", "kustomize.toolkit.fluxcd.io/name", "Flux"),
    ("labels", "helm.toolkit.fluxcd.io/name", "Flux"),
)
_AUTH_PATTERNS: Final = ("unauthorized", "forbidden", "you must be logged in")
_TIMEOUT_PATTERNS: Final = ("i/o timeout", "client.timeout exceeded", "deadline exceeded")
_UNREACHABLE_PATTERNS: Final = (
    "unable to connect to the server",
    "connection refused",
    "was refused",
    "no such host",
    "no route to host",
    "connection reset",
)
_REQUEST_PATTERNS: Final = (
    "notfound",
    "unable to find",
    "cannot rollback",
    "not found",
    "does not exist",
    "no such file or directory",
    "doesn't have a resource type",
)


def _run_subprocess(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list, never a shell
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# --------------------------------------------------------------------------- parsing


@attrs.frozen
class _Answer:
    """Which kubectl command an answer came from: the shared readers' hint names it."""

    source: str
    command: str

    @property
    def hint(self) -> str:
        return (
            f"in kubectl's answer to `{self.command}`, which is not what a Kubernetes API "
            "server sends; check that the context points at a Kubernetes cluster"
        )

    def fail(self, where: str, problem: str) -> MalformedResponseError:
        return _fields.malformed(self.source, where, problem, hint=self.hint)

    def mapping(self, value: object, where: str) -> Mapping[str, object]:
        return _fields.json_object(value, where, self.source, hint=self.hint)

    def field(self, obj: object, key: str, where: str) -> object:
        return _fields.get(obj, key, where, self.source, hint=self.hint)

    def array(self, obj: object, key: str, where: str, *, optional: bool = False) -> list[object]:
        return _fields.json_list(obj, key, where, self.source, hint=self.hint, optional=optional)

    def text(self, obj: Mapping[str, object], key: str, where: str) -> str:
        return _fields.text(obj, key, where, self.source, hint=self.hint)

    def labels(self, obj: Mapping[str, object], key: str, where: str) -> dict[str, str]:
        return _fields.optional_string_map(obj, key, where, self.source, hint=self.hint)

    def instant(self, obj: Mapping[str, object], key: str, where: str) -> pendulum.DateTime:
        return _fields.instant(obj, key, where, self.source, hint=self.hint)

    def optional_instant(
        self, obj: Mapping[str, object], key: str, where: str
    ) -> pendulum.DateTime | None:
        return _fields.optional_instant(obj, key, where, self.source, hint=self.hint)


def _revision_number(text: str, where: str, answer: _Answer) -> int:
    if _REVISION_NUMBER.fullmatch(text) is None:
        raise answer.fail(where, f"is {text!r}, not a revision number (a positive integer)")
    return int(text)


def _images(template: object, where: str, answer: _Answer) -> str:
    """Return ``name=image`` for each container of a pod template, joined with ``", "``."""
    spec = answer.mapping(answer.field(template, "spec", where), f"{where}.spec")
    containers = answer.array(spec, "containers", f"{where}.spec")
    if not containers:
        raise answer.fail(f"{where}.spec.containers", "is empty")
    parts: list[str] = []
    for position, raw in enumerate(containers):
        at = f"{where}.spec.containers[{position}]"
        container = answer.mapping(raw, at)
        parts.append(f"{answer.text(container, 'name', at)}={answer.text(container, 'image', at)}")
    return ", ".join(parts)


def _selector(value: object, where: str, answer: _Answer) -> str:
    """Turn a LabelSelector into the syntax of kubectl's ``--selector``."""
    selector = answer.mapping(value, where)
    labels = answer.labels(selector, "matchLabels", where)
    terms = [f"{key}={item}" for key, item in labels.items()]
    for position, raw in enumerate(
        answer.array(selector, "matchExpressions", where, optional=True)
    ):
        at = f"{where}.matchExpressions[{position}]"
        expression = answer.mapping(raw, at)
        key = answer.text(expression, "key", at)
        values: list[str] = []
        for index, item in enumerate(answer.array(expression, "values", at, optional=True)):
            if not isinstance(item, str) or not item:
                raise answer.fail(f"{at}.values[{index}]", f"is {item!r}, not a non-empty string")
            values.append(item)
        operator = expression.get("operator")
        if operator == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            problem = f"is {operator!r}, not In, NotIn, Exists or DoesNotExist"
            raise answer.fail(f"{at}.operator", problem)
    if not terms:
        raise answer.fail(where, "selects nothing")
    joined = ",".join(terms)
    if not _printable(joined):
        raise answer.fail(where, "holds control characters")
    return joined


def _progress(status: Mapping[str, object], where: str, answer: _Answer) -> _Progress | None:
    """Read the Deployment's ``Progressing`` condition, if it has one."""
    for position, raw in enumerate(answer.array(status, "conditions", where, optional=True)):
        at = f"{where}.conditions[{position}]"
        condition = answer.mapping(raw, at)
        if condition.get("type") != "Progressing":
            continue
        return _Progress(
            reason=str(condition.get("reason", "")),
            message=str(condition.get("message", "")),
            last_update=answer.optional_instant(condition, "lastUpdateTime", at),
        )
    return None


def _read_deployment(raw: object, where: str, answer: _Answer) -> _Deployment:
    obj = answer.mapping(raw, where)
    kind = obj.get("kind")
    if kind is not None and kind != "Deployment":
        raise answer.fail(f"{where}.kind", f"is {kind!r}, not 'Deployment'")
    metadata = answer.mapping(answer.field(obj, "metadata", where), f"{where}.metadata")
    spec = answer.mapping(answer.field(obj, "spec", where), f"{where}.spec")
    labels = answer.labels(metadata, "labels", f"{where}.metadata")
    annotations = answer.labels(metadata, "annotations", f"{where}.metadata")
    name = answer.text(metadata, "name", f"{where}.metadata")
    if not _is_deployment_name(name):
        problem = f"is {name!r}, not a Deployment name (a DNS-1123 subdomain)"
        raise answer.fail(f"{where}.metadata.name", problem)
    revision = annotations.get(_REVISION)
    status = obj.get("status")
    return _Deployment(
        name=name,
        uid=answer.text(metadata, "uid", f"{where}.metadata"),
        selector=_selector(
            answer.field(spec, "selector", f"{where}.spec"), f"{where}.spec.selector", answer
        ),
        images=_images(
            answer.field(spec, "template", f"{where}.spec"), f"{where}.spec.template", answer
        ),
        revision=None
        if revision is None
        else _revision_number(revision, f"{where}.metadata.annotations[{_REVISION!r}]", answer),
        paused=spec.get("paused") is True,
        gitops=_gitops(labels, annotations),
        progress=None
        if status is None
        else _progress(answer.mapping(status, f"{where}.status"), f"{where}.status", answer),
    )


def _read_history(raw: object, owner_uid: str, answer: _Answer) -> list[_Revision]:
    """Return the revisions of the ReplicaSets ``owner_uid`` owns, oldest first."""
    revisions: list[_Revision] = []
    for position, item in enumerate(answer.array(raw, "items", "answer")):
        at = f"items[{position}]"
        obj = answer.mapping(item, at)
        metadata = answer.mapping(answer.field(obj, "metadata", at), f"{at}.metadata")
        owners = answer.array(metadata, "ownerReferences", f"{at}.metadata", optional=True)
        if not any(
            answer.mapping(owner, f"{at}.metadata.ownerReferences[{index}]").get("uid") == owner_uid
            for index, owner in enumerate(owners)
        ):
            continue  # matches the selector but belongs to another Deployment (or none)
        annotations = answer.labels(metadata, "annotations", f"{at}.metadata")
        field = f"{at}.metadata.annotations[{_REVISION!r}]"
        number = annotations.get(_REVISION)
        if not number:
            raise answer.fail(field, "is missing")
        earlier_field = f"{at}.metadata.annotations[{_REVISION_HISTORY!r}]"
        spec = answer.mapping(answer.field(obj, "spec", at), f"{at}.spec")
        revisions.append(
            _Revision(
                number=_revision_number(number, field, answer),
                replicaset=answer.text(metadata, "name", f"{at}.metadata"),
                created=answer.instant(metadata, "creationTimestamp", f"{at}.metadata"),
                images=_images(
                    answer.field(spec, "template", f"{at}.spec"), f"{at}.spec.template", answer
                ),
                change_cause=annotations.get(_CHANGE_CAUSE) or None,
                earlier=tuple(
                    _revision_number(n.strip(), earlier_field, answer)
                    for n in (annotations.get(_REVISION_HISTORY) or "").split(",")
                    if n.strip()
                ),
            )
        )
    revisions.sort(key=lambda r: r.number)
    return revisions


def _gitops(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str | None:
    """Name the GitOps controller that manages an object, from its labels and annotations."""
    for where, key, controller in _GITOPS_MARKERS:
        found = (labels if where == "labels" else annotations).get(key)
        if found is not None:
            return f"{controller} ({where[:-1]} {key}={found})"
    return None


@attrs.frozen
class _Progress:
    """The Deployment's ``Progressing`` condition."""

    reason: str
    message: str
    last_update: pendulum.DateTime | None


@attrs.frozen
class _Deployment:
    name: str
    uid: str
    selector: str
    images: str
    revision: int | None
    paused: bool
    gitops: str | None
    progress: _Progress | None


@attrs.frozen
class _Revision:
    number: int
    replicaset: str
    created: pendulum.DateTime
    images: str
    change_cause: str | None
    earlier: tuple[int, ...]
    """The revisions this ReplicaSet had before it was reused (``revision-history``)."""

    @property
    def reused(self) -> bool:
        """Whether a rollback or a re-apply renumbered this ReplicaSet."""
        return bool(self.earlier)


def _predecessor(history: Sequence[_Revision], number: int, culprit: _Revision) -> _Revision | None:
    """Return the ReplicaSet that was live before revision ``number``, by past numbers too.

    A rollback renumbers the ReplicaSet it returns to and keeps its old number
    in ``revision-history``, so revision 2 may now be revision 4: the
    predecessor is the ReplicaSet with the highest number, past or present,
    below ``number``.
    """
    best: _Revision | None = None
    best_number = -1
    for revision in history:
        if revision is culprit:
            continue
        for candidate in (revision.number, *revision.earlier):
            if best_number < candidate < number:
                best, best_number = revision, candidate
    return best


# --------------------------------------------------------------------------- running kubectl


def _classify(stderr: str) -> type[SourceError]:
    lowered = stderr.lower()
    if any(p in lowered for p in _AUTH_PATTERNS):
        return SourceAuthError
    if any(p in lowered for p in _TIMEOUT_PATTERNS):
        return SourceTimeoutError
    if any(p in lowered for p in _UNREACHABLE_PATTERNS):
        return SourceUnavailableError
    if any(p in lowered for p in _REQUEST_PATTERNS):
        return SourceRequestError
    return SourceUnavailableError


_ADVICE: Final[Mapping[type[SourceError], str]] = {
    SourceAuthError: (
        "check the credentials of the context (kubectl auth can-i) and that they "
        "grant the verbs listed in the kubectl adapter's documentation"
    ),
    SourceTimeoutError: "check the network path to the API server and its health",
    SourceUnavailableError: (
        "check that the API server is reachable from here (kubectl cluster-info) "
        "and that the context and kubeconfig are the right ones"
    ),
    SourceRequestError: (
        "check the Deployment's name, the namespace, the context and the kubeconfig"
    ),
}


def _last_line(text: str) -> str:
    """Return the last line of kubectl's stderr that is not a klog line, else the last one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    plain = [line for line in lines if not _KLOG_LINE.match(line)]
    if plain:
        return plain[-1]
    return lines[-1] if lines else "(no message)"


def _is_deployment_name(value: object) -> bool:
    """Whether ``value`` is a Deployment name: a DNS-1123 subdomain, at most 253 characters."""
    return (
        isinstance(value, str)
        and len(value) <= 253  # noqa: PLR2004 - Kubernetes' limit
        and _DNS_SUBDOMAIN.fullmatch(value) is not None
    )


def _is_namespace(value: object) -> bool:
    """Whether ``value`` is a namespace name: a DNS-1123 label, at most 63 characters."""
    return (
        isinstance(value, str)
        and len(value) <= 63  # noqa: PLR2004 - Kubernetes' limit
        and _DNS_LABEL.fullmatch(value) is not None
    )


def _printable(text: str) -> bool:
    """Whether ``text`` holds no control character and no lone surrogate (argv cannot)."""
    return not any(unicodedata.category(c) in {"Cc", "Cs"} for c in text)


def _positive(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _named(entries: object, name: object) -> Mapping[str, object] | None:
    """Return the entry named ``name`` of a kubeconfig list (``contexts``, ``users``...)."""
    if not isinstance(name, str) or not name or not isinstance(entries, list):
        return None
    for entry in cast("list[object]", entries):
        if isinstance(entry, Mapping) and cast("Mapping[str, object]", entry).get("name") == name:
            return cast("Mapping[str, object]", entry)
    return None


def _with_token(config: Mapping[str, object], context: str | None, token: str) -> dict[str, object]:
    """Return the part of a kubeconfig that ``context`` uses, its user holding ``token``.

    The token stands in for the user's own, as ``--token`` did on the command
    line; a ``tokenFile`` is dropped so that only the token is used. Only the
    context, its cluster and its user are copied. With no such context the
    configuration is left empty and kubectl reports what it reported before.
    """
    name = context if context is not None else config.get("current-context")
    entry = _named(config.get("contexts"), name)
    settings = None if entry is None else entry.get("context")
    if not isinstance(name, str) or not isinstance(settings, Mapping):
        return {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []}
    chosen = dict(cast("Mapping[str, object]", settings))
    cluster = _named(config.get("clusters"), chosen.get("cluster"))
    user_name = chosen.get("user")
    if not isinstance(user_name, str) or not user_name:
        user_name = _KUBECONFIG_USER
    user = _named(config.get("users"), user_name)
    auth_settings = None if user is None else user.get("user")
    auth = (
        dict(cast("Mapping[str, object]", auth_settings))
        if isinstance(auth_settings, Mapping)
        else {}
    )
    auth.pop("tokenFile", None)
    auth["token"] = token
    chosen["user"] = user_name
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "contexts": [{"name": name, "context": chosen}],
        "clusters": [] if cluster is None else [dict(cluster)],
        "users": [{"name": user_name, "user": auth}],
    }


def _check_settings(
    *,
    name: object,
    namespace: object,
    context: object,
    kubeconfig: object,
    token: object,
    kubectl: object,
) -> None:
    """Refuse what kubectl could take for something else than the value it is meant to be."""
    for label, value in (("name", name), ("kubectl", kubectl)):
        if not isinstance(value, str) or not value.strip() or not _printable(value):
            msg = (
                f"kubectl adapter: {label} must be a non-empty string without control "
                f"characters, not {value!r}"
            )
            raise InvalidInputError(msg)
    if not _is_namespace(namespace):
        msg = (
            f"{name}: namespace {namespace!r} is not a Kubernetes namespace name: lowercase "
            "letters, digits and '-', starting and ending with a letter or a digit, at most "
            "63 characters (a DNS-1123 label)"
        )
        raise InvalidInputError(msg)
    for label, value in (("context", context), ("kubeconfig", kubeconfig)):
        if value is not None and (
            not isinstance(value, str)
            or not value
            or value.startswith("-")
            or not _printable(value)
        ):
            msg = (
                f"{name}: {label} {value!r} is refused: give a non-empty string that does "
                "not start with '-' and holds no control character"
            )
            raise InvalidInputError(msg)
    if token is not None and (
        not isinstance(token, str)
        or not token
        or any(not c.isprintable() or c.isspace() for c in token)
    ):
        msg = (
            f"{name}: the token (not shown) must be a non-empty string without spaces or "
            "control characters"
        )
        raise InvalidInputError(msg)


class _Kubectl:
    """What the source and the executor share: how to run kubectl and read its JSON."""

    def __init__(
        self,
        *,
        namespace: str,
        context: str | None,
        kubeconfig: str | None,
        token: str | None,
        kubectl: str,
        timeout: float,
        name: str,
        environment: str | None,
        runner: Runner | None,
    ) -> None:
        _check_settings(
            name=name,
            namespace=namespace,
            context=context,
            kubeconfig=kubeconfig,
            token=token,
            kubectl=kubectl,
        )
        if not _positive(timeout):
            msg = f"{name}: the timeout must be a positive number of seconds, not {timeout!r}"
            raise InvalidInputError(msg)
        self._name = name
        self._namespace = namespace
        self._context = context
        self._kubeconfig = kubeconfig
        self._token = token
        self._kubectl = kubectl
        self._timeout = float(timeout)
        self._environment = environment if environment is not None else context
        self._runner: Runner = runner or _run_subprocess

    @property
    def name(self) -> str:
        """The adapter's name, as the journal and the findings show it."""
        return self._name

    @property
    def namespace(self) -> str:
        """The namespace every command runs in."""
        return self._namespace

    def _argv(self, args: Sequence[str], kubeconfig: str | None) -> list[str]:
        argv = [self._kubectl]
        if kubeconfig is not None:
            argv.append(f"--kubeconfig={kubeconfig}")
        if self._context is not None:
            argv.append(f"--context={self._context}")
        argv.append(f"--namespace={self._namespace}")
        argv.extend(args)
        return argv

    def _where(self) -> str:
        context = "the current context" if self._context is None else f"context {self._context}"
        return f"namespace {self._namespace}, {context}"

    def _redact(self, text: str) -> str:
        return _http.redact(text, [self._token] if self._token else [])

    def _run(self, args: Sequence[str], *, timeout: float | None = None) -> str:
        """Run ``kubectl <global flags> <args>`` and return its standard output.

        With a token, the command reads a kubeconfig written for it alone
        (0600, in a private temporary directory, deleted when it ends): the
        token is never on a command line.

        Raises:
            SourceError: The subclass that fits what went wrong.
        """
        what = f"`kubectl {' '.join(args)}` ({self._where()})"
        limit = self._timeout if timeout is None else timeout
        if self._token is None:
            return self._call(self._argv(args, self._kubeconfig), limit, what)
        with tempfile.TemporaryDirectory(prefix="incidentkit-kubectl-") as private:
            kubeconfig = self._token_kubeconfig(pathlib.Path(private), self._token)
            return self._call(self._argv(args, kubeconfig), limit, what)

    def _token_kubeconfig(self, directory: pathlib.Path, token: str) -> str:
        """Write the kubeconfig of one command, with the token, and return its path."""
        view = ["config", "view", "--raw", "--flatten", "-o", "json"]
        argv = [self._kubectl]
        if self._kubeconfig is not None:
            argv.append(f"--kubeconfig={self._kubeconfig}")
        out = self._call([*argv, *view], self._timeout, f"`kubectl {' '.join(view)}`")
        try:
            config = cast("object", json.loads(out))
        except ValueError:
            config = None
        if not isinstance(config, Mapping):
            # Never quoted: the output holds the kubeconfig's credentials.
            msg = (
                f"{self._name}: `kubectl {' '.join(view)}` did not print a kubeconfig as a "
                "JSON object; check kubectl= and the kubeconfig"
            )
            raise MalformedResponseError(msg, source=self._name)
        path = directory / "kubeconfig"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(
                _with_token(cast("Mapping[str, object]", config), self._context, token), handle
            )
        return str(path)

    def _call(self, argv: Sequence[str], limit: float, what: str) -> str:
        """Run one command line; a failure is raised outside any handler (no chained argv)."""
        done = self._start(argv, limit, what)
        if isinstance(done, SourceError):
            raise done
        if done.returncode != 0:
            stderr = self._redact(done.stderr or "")
            error = _classify(stderr)
            msg = (
                f"{self._name}: {what} failed (exit {done.returncode}): {_last_line(stderr)}; "
                f"{_ADVICE[error]}"
            )
            raise error(msg, source=self._name)
        return done.stdout

    def _start(
        self, argv: Sequence[str], limit: float, what: str
    ) -> subprocess.CompletedProcess[str] | SourceError:
        """Run the runner; return the error to raise rather than chain its exception.

        :class:`subprocess.TimeoutExpired` quotes the whole command line, so
        no exception of the runner is ever kept as a cause or a context.
        """
        try:
            return self._runner(argv, limit)
        except FileNotFoundError:
            msg = (
                f"{self._name}: cannot run {what}: {self._kubectl!r} was not found; "
                "install kubectl or pass kubectl=path"
            )
            return SourceUnavailableError(msg, source=self._name)
        except subprocess.TimeoutExpired:
            msg = (
                f"{self._name}: {what} gave no answer within {limit:g} s; check that the API "
                "server is reachable and healthy (kubectl cluster-info)"
            )
            return SourceTimeoutError(msg, source=self._name, timeout=limit)
        except OSError as exc:
            reason = self._redact(exc.strerror or type(exc).__name__)
            msg = f"{self._name}: cannot run {what}: {reason}; check kubectl={self._kubectl!r}"
            return SourceUnavailableError(msg, source=self._name)

    def _get(self, args: Sequence[str]) -> tuple[object, _Answer]:
        """Run a ``kubectl get ... -o json``; return its decoded answer and who answered."""
        answer = _Answer(self._name, f"kubectl {' '.join(args)}")
        out = self._run([*args, "-o", "json"])
        try:
            return cast("object", json.loads(out)), answer
        except ValueError as exc:
            problem = f"is not JSON ({exc}): {self._redact(out[:200])!r}"
        raise answer.fail("the answer", problem)

    def _read(self, read: Callable[[], _T]) -> _T:
        """Read kubectl's decoded answer with ``read``; a malformed one's error leaves masked.

        The readers quote the value that is wrong, which the API server (or a
        proxy in front of it) may have filled with what it received, the
        ``Authorization`` header included: the message is cleaned by
        :meth:`_redact` and raised outside the ``except``, so that the original
        is chained to nothing.
        """
        try:
            return read()
        except MalformedResponseError as exc:
            message = str(exc)
        raise MalformedResponseError(self._redact(message), source=self._name)

    def _deployment(self, name: str) -> _Deployment:
        """Read the Deployment ``name`` (one of the configured, well-formed names)."""
        raw, answer = self._get(["get", f"deployment/{name}"])
        deployment = self._read(lambda: _read_deployment(raw, "deployment", answer))
        if deployment.name != name:
            problem = f"is {deployment.name!r}, not {name!r}"
            raise answer.fail("deployment.metadata.name", problem)
        return deployment

    def _history(self, deployment: _Deployment) -> list[_Revision]:
        raw, answer = self._get(["get", "replicasets", f"--selector={deployment.selector}"])
        return self._read(lambda: _read_history(raw, deployment.uid, answer))


# --------------------------------------------------------------------------- the deploy source


class KubectlDeploySource(_Kubectl):
    """**Implements**: :class:`~incidentkit.protocols.DeploySource`, from rollout history.

    For each Deployment it runs ``kubectl get deployment/NAME -o json`` (its
    selector, uid, current revision and ``Progressing`` condition), then
    ``kubectl get replicasets --selector=SELECTOR -o json``, keeps the ReplicaSets
    whose ``ownerReferences`` name the Deployment's uid (as ``kubectl rollout
    history`` does) and makes one :class:`~incidentkit.Change` of kind
    ``DEPLOY`` per revision:

    * ``id``: ``"<deployment>@<revision>"``, the revision from the
      ReplicaSet's ``deployment.kubernetes.io/revision`` annotation;
    * ``version``: the ReplicaSet's container images (``name=image``, joined
      with ``", "``); ``previous_version``: those of the revision before it,
      ``None`` for the oldest revision kept;
    * ``started``: the ReplicaSet's ``creationTimestamp``. A ReplicaSet that
      was *reused* (a rollback to it, or a re-apply of an old template, bumps
      its revision and records the old one in
      ``deployment.kubernetes.io/revision-history``) was created long before;
      the start of that rollout is not recorded anywhere kubectl reads, so
      ``started`` is the earliest instant known to be after it: the
      ``Progressing`` condition's ``lastUpdateTime`` for the current revision,
      else the start of the next revision. The ``started_from`` attribute
      says which;
    * ``finished``: for the current revision, the ``lastUpdateTime`` of a
      ``Progressing`` condition with reason ``NewReplicaSetAvailable`` that
      names its ReplicaSet, else ``None`` (still rolling out, or unknown).
      Kubernetes records no end for a superseded revision: it is given as
      finished at its start (an instant, as a git deploy is), and the next
      revision's start is in ``superseded_at``;
    * ``summary``: the ``kubernetes.io/change-cause`` annotation if present;
    * ``environment``: ``environment``, by default the context;
    * ``attributes``: ``revision``, ``replicaset``, ``deployment``,
      ``namespace``, ``started_from``, and when known ``change_cause``,
      ``superseded_at``, ``rollout`` (the current revision's ``Progressing``
      reason), ``auto_sync`` (``"true"`` when Argo CD or Flux labels or
      annotations are on the Deployment) and ``auto_sync_by``.

    Args:
        deployments: Deployment name -> service name. ``None`` with
            ``selector``: every Deployment the selector matches, each its own
            service.
        selector: A label selector (``-l``) that picks the Deployments, in
            place of ``deployments``.
        namespace: The namespace (``--namespace``).
        context: The kubeconfig context (``--context``); ``None``: the current one.
        kubeconfig: A kubeconfig file (``--kubeconfig``); ``None``: kubectl's default.
        token: A bearer token for the context's user. Never on a command
            line (each command reads it from a kubeconfig of its own, 0600 in
            a private temporary directory, deleted after it), never shown in
            ``repr``, an error message or a change.
        kubectl: The kubectl binary, a path or a name on ``PATH``.
        timeout: Seconds each kubectl command may take.
        name: The source's name, as the journal and the findings show it.
        environment: The ``environment`` of the changes (a cluster's name);
            ``None``: the context.
        runner: How to run kubectl (see :data:`Runner`); for tests.

    Raises:
        InvalidInputError: Both or neither of ``deployments`` and
            ``selector``, a Deployment name that is not a DNS-1123 subdomain, a
            namespace that is not a DNS-1123 label, a context or kubeconfig
            that starts with ``-`` or holds control characters, a token with
            spaces, an empty name, or a timeout that is not positive.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        deployments: Mapping[str, str] | None = None,
        *,
        selector: str | None = None,
        namespace: str = "default",
        context: str | None = None,
        kubeconfig: str | None = None,
        token: str | None = None,
        kubectl: str = "kubectl",
        timeout: float = 30.0,
        name: str = "kubectl",
        environment: str | None = None,
        runner: Runner | None = None,
    ) -> None:
        super().__init__(
            namespace=namespace,
            context=context,
            kubeconfig=kubeconfig,
            token=token,
            kubectl=kubectl,
            timeout=timeout,
            name=name,
            environment=environment,
            runner=runner,
        )
        if (deployments is None) == (selector is None):
            msg = (
                f"{name}: give either deployments (name -> service) or a label selector, "
                "not both or neither"
            )
            raise InvalidInputError(msg)
        if selector is not None and (not selector.strip() or not _printable(selector)):
            msg = f"{name}: the label selector must not be empty or hold control characters"
            raise InvalidInputError(msg)
        bad = [d for d in deployments or () if not _is_deployment_name(d)]
        if bad:
            msg = (
                f"{name}: {bad[0]!r} is not a Deployment name: lowercase letters, digits, '-' "
                "and '.', starting and ending with a letter or a digit, at most 253 "
                "characters (a DNS-1123 subdomain)"
            )
            raise InvalidInputError(msg)
        self._deployments = None if deployments is None else dict(deployments)
        self._selector = selector

    def __repr__(self) -> str:
        """Return the class, the name, the namespace, the context and what is read."""
        what = (
            f"selector={self._selector!r}"
            if self._deployments is None
            else f"deployments={sorted(self._deployments)!r}"
        )
        return (
            f"{type(self).__name__}(name={self._name!r}, namespace={self._namespace!r}, "
            f"context={self._context!r}, {what})"
        )

    def deploys(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        services: Sequence[str] | None = None,
    ) -> list[Change]:
        """Return the revisions under way at any time in ``[start, end]``, oldest first.

        Args:
            start: The window's start (timezone-aware).
            end: The window's end (timezone-aware).
            services: Only these services; ``None`` means all. A single string
                is one service. Deployments of other services are not read.

        Returns:
            One change per revision that overlaps the window.

        Raises:
            NaiveDatetimeError: ``start`` or ``end`` has no time zone.
            InvalidInputError: The window ends before it starts.
            SourceError: kubectl failed (see the module's documentation) or
                answered something that is not a Deployment or ReplicaSets.
        """
        first, last = _arguments.check_window(start, end, name=self._name)
        wanted = (
            None
            if services is None
            else frozenset([services] if isinstance(services, str) else services)
        )
        found: list[Change] = []
        for deployment, service in self._targets(wanted):
            changes = self._changes(deployment, service, self._history(deployment))
            found.extend(c for c in changes if c.overlaps(first, last))
        found.sort(key=lambda c: (c.started, c.id))
        return found

    def _targets(self, wanted: frozenset[str] | None) -> list[tuple[_Deployment, str]]:
        if self._deployments is None:
            assert self._selector is not None  # noqa: S101 - the constructor checked
            raw, answer = self._get(["get", "deployments", f"--selector={self._selector}"])
            listed = self._read(
                lambda: [
                    _read_deployment(item, f"items[{position}]", answer)
                    for position, item in enumerate(answer.array(raw, "items", "answer"))
                ]
            )
            return [(d, d.name) for d in listed if wanted is None or d.name in wanted]
        return [
            (self._deployment(deployment), service)
            for deployment, service in self._deployments.items()
            if wanted is None or service in wanted
        ]

    def _changes(
        self, deployment: _Deployment, service: str, history: list[_Revision]
    ) -> list[Change]:
        current = deployment.revision
        if current is None and history:
            current = history[-1].number
        changes: list[Change] = []
        next_started: pendulum.DateTime | None = None
        for position in range(len(history) - 1, -1, -1):
            revision = history[position]
            previous = _predecessor(history, revision.number, revision)
            progress = deployment.progress
            if (
                revision.number != current
                or progress is None
                or f'"{revision.replicaset}"' not in progress.message
            ):
                progress = None
            started, started_from = _start(revision, progress, next_started)
            finished = (
                progress.last_update
                if progress is not None and progress.reason == _COMPLETE
                else None
            )
            if finished is not None and finished < started:
                finished = started  # clock skew between the controller and the API server
            if finished is None and next_started is not None:
                # Superseded: its rollout's end was never recorded. Taken as an instant,
                # as a git deploy is; not the next one's start, which would make an
                # innocent revision look as if it rolled out right before the symptom.
                finished = started
            attributes: dict[str, str] = {
                "revision": str(revision.number),
                "replicaset": revision.replicaset,
                "deployment": deployment.name,
                "namespace": self._namespace,
                "started_from": started_from,
            }
            if revision.change_cause:
                attributes["change_cause"] = revision.change_cause
            if next_started is not None:
                attributes["superseded_at"] = next_started.isoformat()
            if revision.number == current and deployment.progress is not None:
                attributes["rollout"] = deployment.progress.reason
            if deployment.gitops is not None:
                attributes["auto_sync"] = "true"
                attributes["auto_sync_by"] = deployment.gitops
            extra: dict[str, Any] = {"attributes": attributes}  # dict's typing as a converter
            changes.append(
                Change(
                    id=f"{deployment.name}@{revision.number}",
                    kind=ChangeKind.DEPLOY,
                    service=service,
                    started=started,
                    finished=finished,
                    source=self._name,
                    summary=revision.change_cause
                    or f"rollout of deployment/{deployment.name} revision {revision.number}",
                    environment=self._environment,
                    version=revision.images,
                    previous_version=None if previous is None else previous.images,
                    **extra,
                )
            )
            next_started = started
        return changes


def _start(
    revision: _Revision, progress: _Progress | None, next_started: pendulum.DateTime | None
) -> tuple[pendulum.DateTime, str]:
    """Return when a revision's rollout started, or the earliest instant known after it."""
    if not revision.reused:
        return revision.created, "ReplicaSet creationTimestamp"
    if progress is not None and progress.last_update is not None:
        return progress.last_update, (
            "Deployment Progressing lastUpdateTime (reused ReplicaSet: the rollout "
            "started at an unknown time before it)"
        )
    if next_started is not None:
        return next_started, (
            "the next revision's start (reused ReplicaSet: the rollout started at an "
            "unknown time before it)"
        )
    return revision.created, (
        "ReplicaSet creationTimestamp (reused ReplicaSet: the rollout started at an "
        "unknown time after it)"
    )


# --------------------------------------------------------------------------- the executor


@attrs.frozen
class _Plan:
    deployment: _Deployment
    culprit: _Revision
    target: _Revision
    newer: tuple[int, ...]


class KubectlRolloutExecutor(_Kubectl):
    """**Implements**: :class:`~incidentkit.protocols.RollbackExecutor` with ``rollout undo``.

    It handles changes of kind ``DEPLOY`` whose id is ``"<deployment>@<revision>"``
    (as :class:`KubectlDeploySource` makes them) for the Deployments it is
    given, and offers to return the Deployment to the revision before the
    culprit: ``kubectl rollout undo deployment/NAME --to-revision=N``. Its
    options can be rehearsed (``--dry-run=server``: the API server runs its
    admission and validation and stores nothing) and carry an
    ``AUTOMATED_SYNC`` caveat when Argo CD or Flux manages the Deployment (the
    controller re-applies the git state and reverts the undo). The protocol
    adds the caveats it sees itself (a target deployed after the symptom
    began, a schema migration).

    :meth:`dry_run` and :meth:`execute` take an option this executor offered
    (the same id and content; the caveats the protocol adds aside) or, when
    it offered nothing under that id (an executor built after a resume has
    offered nothing), an option for one of its Deployments whose revision and
    versions the cluster's history confirms now. They refuse anything else
    before kubectl runs, whatever the journal says. :meth:`execute` checks
    that nothing changed since the option was offered (the live images and
    the target revision's images), runs the undo, waits with
    ``kubectl rollout status deployment/NAME --timeout=<rollout_timeout>s``
    and reports the images live afterwards.

    Args:
        deployments: The Deployments it may roll back (names; a mapping's
            keys). Nothing else is ever touched.
        rollout_timeout: Seconds to wait for the rollout after the undo.
        namespace: The namespace (``--namespace``).
        context: The kubeconfig context (``--context``); ``None``: the current one.
        kubeconfig: A kubeconfig file (``--kubeconfig``); ``None``: kubectl's default.
        token: A bearer token for the context's user, never on a command line
            and never shown (see :class:`KubectlDeploySource`).
        kubectl: The kubectl binary, a path or a name on ``PATH``.
        timeout: Seconds each other kubectl command may take.
        name: The executor's name, as the journal and the option ids show it.
        environment: The cluster's label; a change whose ``environment`` is
            another one is not handled. ``None``: the context.
        runner: How to run kubectl (see :data:`Runner`); for tests.

    Raises:
        InvalidInputError: No deployments, a Deployment name that is not a
            DNS-1123 subdomain, a namespace that is not a DNS-1123 label, a
            context or kubeconfig that starts with ``-`` or holds control
            characters, a token with spaces, an empty name, or a timeout that
            is not positive.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        deployments: Collection[str],
        *,
        rollout_timeout: float = 300.0,
        namespace: str = "default",
        context: str | None = None,
        kubeconfig: str | None = None,
        token: str | None = None,
        kubectl: str = "kubectl",
        timeout: float = 30.0,
        name: str = "kubectl",
        environment: str | None = None,
        runner: Runner | None = None,
    ) -> None:
        super().__init__(
            namespace=namespace,
            context=context,
            kubeconfig=kubeconfig,
            token=token,
            kubectl=kubectl,
            timeout=timeout,
            name=name,
            environment=environment,
            runner=runner,
        )
        if isinstance(deployments, str) or not deployments:
            msg = f"{name}: give the Deployments it may roll back, as a list of names"
            raise InvalidInputError(msg)
        if not _positive(rollout_timeout):
            msg = f"{name}: rollout_timeout must be a positive number of seconds"
            raise InvalidInputError(msg)
        bad = [d for d in deployments if not _is_deployment_name(d)]
        if bad:
            msg = (
                f"{name}: {bad[0]!r} is not a Deployment name: lowercase letters, digits, '-' "
                "and '.', starting and ending with a letter or a digit, at most 253 "
                "characters (a DNS-1123 subdomain)"
            )
            raise InvalidInputError(msg)
        self._deployments = frozenset(deployments)
        self._rollout_timeout = float(rollout_timeout)
        self._offered: dict[str, RollbackOption] = {}
        self._offered_lock = threading.Lock()

    def __repr__(self) -> str:
        """Return the class, the name, the namespace, the context and the Deployments."""
        return (
            f"{type(self).__name__}(name={self._name!r}, namespace={self._namespace!r}, "
            f"context={self._context!r}, deployments={sorted(self._deployments)!r})"
        )

    def _handles(self, change: Change) -> tuple[str, int] | None:
        match = _CHANGE_ID.fullmatch(change.id)
        if change.kind is not ChangeKind.DEPLOY or match is None:
            return None
        deployment, revision = match["deployment"], int(match["revision"])
        if deployment not in self._deployments or revision < 1:
            return None
        if change.attributes.get("namespace", self._namespace) != self._namespace:
            return None
        if (
            change.environment is not None
            and self._environment is not None
            and change.environment != self._environment
        ):
            return None
        return deployment, revision

    def _plan(self, deployment: str, revision: int) -> _Plan | str:
        """Work out the undo from the live history, or say why there is none."""
        live = self._deployment(deployment)
        history = self._history(live)
        culprit = next((r for r in history if r.number == revision), None)
        if culprit is None:
            kept = ", ".join(str(r.number) for r in history) or "none"
            return (
                f"deployment/{deployment} has no revision {revision} any more (revisions: "
                f"{kept}): it was trimmed by revisionHistoryLimit or renumbered by a rollback"
            )
        target = _predecessor(history, revision, culprit)
        if target is None:
            return f"deployment/{deployment} keeps no revision before {revision}"
        newer = tuple(r.number for r in history if r.number > revision and r is not target)
        return _Plan(live, culprit, target, newer)

    def options(self, change: Change) -> list[RollbackOption]:
        """Offer to undo ``change`` to the revision before it.

        Returns:
            One option, or none when the change is not a revision of one of
            its Deployments, the revision or the one before it is no longer in
            the history, or the Deployment already runs the target's images.

        Raises:
            SourceError: kubectl failed or answered garbage.
        """
        handled = self._handles(change)
        if handled is None:
            return []
        deployment, revision = handled
        plan = self._plan(deployment, revision)
        if isinstance(plan, str):
            return []
        if change.version is not None and plan.culprit.images != change.version:
            return []  # the revision number now names another template
        live = plan.deployment
        if live.images == plan.target.images:
            return []
        caveats: list[Caveat] = []
        if live.gitops is not None:
            caveats.append(
                Caveat(
                    CaveatKind.AUTOMATED_SYNC,
                    f"deployment/{deployment} is managed by {live.gitops}: if it syncs "
                    "automatically it will re-apply the git state and revert the undo; "
                    "pause its sync (or revert in git) first",
                )
            )
        if plan.newer:
            later = ", ".join(str(n) for n in plan.newer)
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"revision {revision} is not the latest: going back to revision "
                    f"{plan.target.number} also undoes revision(s) {later}",
                )
            )
        if live.paused:
            caveats.append(
                Caveat(
                    CaveatKind.OTHER,
                    f"deployment/{deployment} is paused and kubectl refuses to roll back a "
                    f"paused Deployment: kubectl rollout resume deployment/{deployment} first",
                )
            )
        option = RollbackOption(
            id=f"{self._name}:{change.id}",
            executor=self._name,
            change_id=change.id,
            target=deployment,
            from_version=live.images,
            to_version=plan.target.images,
            caveats=tuple(caveats),
            supports_dry_run=True,
        )
        with self._offered_lock:
            self._offered[option.id] = attrs.evolve(option, caveats=())
        return [option]

    def current_version(self, target: str) -> str | None:
        """Return the images of the live Deployment ``target`` (``deployment/`` optional).

        Returns:
            ``None`` when ``target`` is not one of its Deployments or does not exist.

        Raises:
            SourceError: kubectl failed otherwise, or answered garbage.
        """
        name = target.removeprefix("deployment/")
        if name not in self._deployments:
            return None
        try:
            return self._deployment(name).images
        except SourceRequestError:
            return None

    def _checked_plan(self, option: RollbackOption) -> _Plan:
        """Return the plan of an option this executor offered or would offer now, or refuse it.

        Whatever the journal or the caller says: the option must name one of
        its Deployments and a revision in well-formed values, be the very
        option it offered under that id (caveats aside: the protocol adds
        its own), and agree with the history read from the cluster now.
        """
        if option.executor != self._name:
            msg = (
                f"option {option.id!r} was offered by {option.executor!r}, not by "
                f"{self._name!r}; pass it to the executor that offered it"
            )
            raise InvalidInputError(msg)
        allowed = ", ".join(sorted(self._deployments))
        if not _is_deployment_name(option.target) or option.target not in self._deployments:
            msg = (
                f"{self._name}: option {option.id!r} targets {option.target!r}, which is not "
                f"one of the Deployments this executor may roll back ({allowed}); nothing "
                "was run"
            )
            raise InvalidInputError(msg)
        match = _CHANGE_ID.fullmatch(option.change_id)
        if (
            match is None
            or match["deployment"] != option.target
            or option.id != f"{self._name}:{option.change_id}"
        ):
            msg = (
                f"{self._name}: option {option.id!r} is not a kubectl rollout option (its id is "
                "'<executor>:<deployment>@<revision>' and its target the deployment, one of "
                f"the Deployments this executor may roll back: {allowed}); nothing was run"
            )
            raise InvalidInputError(msg)
        if _REVISION_NUMBER.fullmatch(match["revision"]) is None:
            msg = (
                f"{self._name}: option {option.id!r} names revision {match['revision']!r}, "
                f"not a positive revision number of one of the Deployments this executor may "
                f"roll back ({allowed}); nothing was run"
            )
            raise InvalidInputError(msg)
        with self._offered_lock:
            offered = self._offered.get(option.id)
        if offered is not None and attrs.evolve(option, caveats=()) != offered:
            msg = (
                f"{self._name}: option {option.id!r} is not the option this executor offered "
                f"under that id (offered: deployment/{offered.target} from "
                f"{offered.from_version} to {offered.to_version}); nothing was run: review "
                "the rollbacks again"
            )
            raise InvalidInputError(msg)
        plan = self._plan(option.target, int(match["revision"]))
        why = ""
        if isinstance(plan, str):
            why = plan
        elif plan.deployment.images != option.from_version:
            why = (
                f"deployment/{option.target} runs {plan.deployment.images} now, not "
                f"{option.from_version} as when the option was offered"
            )
        elif plan.target.images != option.to_version:
            why = (
                f"revision {plan.target.number} of deployment/{option.target} is "
                f"{plan.target.images} now, not {option.to_version}"
            )
        if isinstance(plan, str) or why:
            msg = (
                f"{self._name}: nothing was changed: {why}. Someone changed the Deployment "
                "since the review: review the rollbacks again"
            )
            raise RollbackFailedError(msg, source=self._name)
        return plan

    def _undo(self, plan: _Plan, *, dry_run: bool) -> list[str]:
        args = [
            "rollout",
            "undo",
            f"deployment/{plan.deployment.name}",
            f"--to-revision={plan.target.number}",
        ]
        return [*args, "--dry-run=server"] if dry_run else args

    def dry_run(self, option: RollbackOption) -> RollbackResult:
        """Rehearse the undo with ``--dry-run=server``: the API server validates, stores nothing.

        Raises:
            InvalidInputError: The option is another executor's, targets a
                Deployment outside its list, names a malformed revision, or is
                not what it offered under that id; nothing was run.
            RollbackFailedError: The Deployment or its history changed since
                the option was offered.
            SourceError: kubectl failed (the API server refused the patch, was
                unreachable, ...).
        """
        plan = self._checked_plan(option)
        out = self._run(self._undo(plan, dry_run=True))
        return RollbackResult(
            option_id=option.id,
            succeeded=True,
            dry_run=True,
            live_version=plan.deployment.images,
            detail=self._redact(out.strip()),
        )

    def execute(self, option: RollbackOption) -> RollbackResult:
        """Undo to the target revision, wait for the rollout and report the images live.

        Raises:
            InvalidInputError: The option is another executor's, targets a
                Deployment outside its list, names a malformed revision, or is
                not what it offered under that id; nothing was run.
            RollbackFailedError: The Deployment changed since the option was
                offered (nothing was done), kubectl refused the undo (nothing
                was done), or the undo was applied but the rollout did not
                finish in time or did not leave the target's images live.
            SourceError: kubectl could not read the Deployment before the undo.
        """
        plan = self._checked_plan(option)
        deployment = plan.deployment.name
        try:
            undone = self._run(self._undo(plan, dry_run=False))
        except SourceError as exc:
            msg = f"{self._name}: the undo was NOT applied: {exc}"
            raise RollbackFailedError(msg, source=self._name) from exc
        wait = f"{self._rollout_timeout:g}s"
        try:
            status = self._run(
                ["rollout", "status", f"deployment/{deployment}", f"--timeout={wait}"],
                timeout=self._rollout_timeout + self._timeout,
            )
        except SourceError as exc:
            msg = (
                f"{self._name}: the undo WAS applied (deployment/{deployment} now has the "
                f"template of revision {plan.target.number}), but the rollout did not finish "
                f"within {wait}: {exc}. Check the pods: kubectl describe deployment/{deployment} "
                f"--namespace={self._namespace}; kubectl get pods -l {plan.deployment.selector}"
            )
            raise RollbackFailedError(msg, source=self._name) from exc
        detail = f"{undone.strip()}; {status.strip()}"
        try:
            live = self._deployment(deployment).images
        except SourceError as exc:
            return RollbackResult(
                option_id=option.id,
                succeeded=True,
                dry_run=False,
                live_version=None,
                detail=self._redact(f"{detail}; the live images could not be read: {exc}"),
            )
        if live != plan.target.images:
            who = plan.deployment.gitops or "a controller or a person"
            msg = (
                f"{self._name}: the undo was applied and the rollout finished, but "
                f"deployment/{deployment} runs {live}, not {plan.target.images}: something "
                f"re-applied another template ({who})"
            )
            raise RollbackFailedError(msg, source=self._name)
        return RollbackResult(
            option_id=option.id,
            succeeded=True,
            dry_run=False,
            live_version=live,
            detail=self._redact(detail),
        )
