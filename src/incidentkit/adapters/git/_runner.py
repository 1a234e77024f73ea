"""Running git safely: the argument list, the environment, timeouts, typed failures, redaction."""

from __future__ import annotations

import enum
import os
import re
import signal
import subprocess
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Final, cast

import attrs

from incidentkit._errors import (
    InvalidInputError,
    MalformedResponseError,
    SourceAuthError,
    SourceError,
    SourceRequestError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from incidentkit._redact import basic_credentials, mask_url
from incidentkit._redact import redact as shared_redact
from incidentkit.adapters.git import _refs as refs

SHORT: Final = 12
FULL_SHA: Final = re.compile(r"[0-9a-f]{40}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_PASSWORD_VARIABLE: Final = "INCIDENTKIT_GIT_PASSWORD"  # noqa: S105 - a variable's name
#: A credential helper (run by git through ``sh``) that answers ``get`` with the password.
_HELPER: Final = (
    f'!f() {{ test "$1" = get && printf "password=%s\\n" "${_PASSWORD_VARIABLE}"; }}; f'
)
#: The shortest query value or fragment of a URL treated as a secret, as the HTTP adapters do:
#: shorter ones would mask ordinary words.
_MIN_URL_SECRET: Final = 4
RS: Final = "\x1e"
US: Final = "\x1f"
_STDERR_SHOWN: Final = 600
#: Inherited variables that would point git at another repository or identity.
_DROPPED_ENV: Final = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask the credentials of every URL in ``text``, and every one of ``secrets``.

    The user information (``user:password@``) becomes ``***@``, every query
    value and fragment ``***``; then each secret, in every form it may take
    (percent-encoded, escaped, base64), is masked wherever it still appears.
    The one redaction of the library (:mod:`incidentkit._redact`).
    """
    return shared_redact(text, secrets)


def abbrev(sha: str) -> str:
    """Return the abbreviated (12-character) form of a commit id."""
    return sha[:SHORT]


def excerpt(text: str, secrets: Iterable[str] = ()) -> str:
    """Return git's message, redacted and cut to a readable length."""
    text = redact(text.strip(), secrets)
    if len(text) > _STDERR_SHOWN:
        text = text[:_STDERR_SHOWN] + " ..."
    return text


@attrs.frozen
class Remote:
    """Where the executor fetches from and pushes to: a remote's name, or a URL.

    A URL's password never reaches git's argument list: git gets the URL
    without it, and a credential helper given through the environment
    (``GIT_CONFIG_COUNT``) answers it from ``INCIDENTKIT_GIT_PASSWORD``.
    Nothing but :attr:`shown` appears in a ``repr``: the URL with its user
    information, every query value and its fragment masked.
    """

    shown: str
    for_git: str = attrs.field(repr=False)
    password: str | None = attrs.field(repr=False)
    is_url: bool = attrs.field(repr=False)
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)
    """The texts that must never be shown (see :func:`url_secrets`)."""

    def env(self) -> dict[str, str]:
        """The environment that hands git the password through a credential helper."""
        if self.password is None:
            return {}
        return {
            # Command-line level configuration: the empty value drops every helper configured
            # elsewhere (so that none stores this password), then ours answers `get` only.
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": "",
            "GIT_CONFIG_KEY_1": "credential.helper",
            "GIT_CONFIG_VALUE_1": _HELPER,
            _PASSWORD_VARIABLE: self.password,
        }


def _split_url(url: str) -> tuple[str, str | None, str, str]:
    """Split ``scheme://userinfo@host/tail`` into its four parts (userinfo ``None`` if absent).

    By hand rather than with :func:`urllib.parse.urlsplit`, which raises on
    text it cannot parse (``http://[x``): any text must split.
    """
    scheme, _, rest = url.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    return f"{scheme}://", (userinfo if at else None), host, tail


def url_secrets(text: str) -> tuple[str, ...]:
    """Return what a URL in ``text`` holds that must never be shown, to mask it anywhere.

    Its password (percent-encoded as written, and decoded), the basic-auth
    value git sends for it (``base64(user:password)``), and every query value
    and the fragment of at least four characters (as written, and decoded),
    whatever the parameters are called. Masking these as secrets, and not
    only as parts of a URL, keeps them out of git's words where the URL is cut
    (a search for URLs in running text stops at a quote or a space, both of
    which a query may hold) or not quoted at all (a server echoing a query).
    """
    if "://" not in text:
        return ()
    _scheme, userinfo, _host, tail = _split_url(text)
    found: list[str] = []
    user, colon, encoded = (userinfo or "").partition(":")
    if colon and encoded:
        password = urllib.parse.unquote(encoded)
        found += [encoded, password, basic_credentials(urllib.parse.unquote(user), password)]
    before_fragment, _, fragment = tail.partition("#")
    query = before_fragment.partition("?")[2]
    values = [pair.partition("=")[2] if "=" in pair else pair for pair in query.split("&")]
    for value in (*values, fragment):
        for form in (value, urllib.parse.unquote(value), urllib.parse.unquote_plus(value)):
            if len(form) >= _MIN_URL_SECRET:
                found.append(form)
    return tuple(dict.fromkeys(found))


def parse_remote(remote: str) -> Remote:
    """Return the :class:`Remote` for a remote's name or a URL.

    Raises:
        InvalidInputError: Neither a valid remote name nor a URL, or a URL
            whose password holds a control character.
    """
    if not isinstance(cast("object", remote), str) or not remote:
        msg = f"remote must be a remote's name (origin) or a URL, not {remote!r}"
        raise InvalidInputError(msg)
    if "://" not in remote:
        problem = refs.refname_problem(f"refs/remotes/{remote}/x")
        if problem is not None or remote.startswith("-"):
            msg = (
                f"remote {redact(remote)!r} must be a remote's name (a valid ref name "
                "component that does not start with '-') or a URL such as "
                "https://host/org/repo.git"
            )
            raise InvalidInputError(msg)
        return Remote(shown=remote, for_git=remote, password=None, is_url=False)
    if _CONTROL.search(remote) or remote.startswith("-"):
        shown = redact(remote, url_secrets(remote))
        msg = f"remote URL {shown!r} must not start with '-' or hold control characters"
        raise InvalidInputError(msg)
    scheme, userinfo, host, tail = _split_url(remote)
    password: str | None = None
    for_git = remote
    user, colon, encoded = (userinfo or "").partition(":")
    if colon:
        password = urllib.parse.unquote(encoded)
        for_git = f"{scheme}{user}@{host}{tail}" if user else f"{scheme}{host}{tail}"
    return Remote(
        shown=mask_url(remote),
        for_git=for_git,
        password=password,
        is_url=True,
        secrets=url_secrets(remote),
    )


class _Failure(enum.Enum):
    NOT_A_REPOSITORY = "not a repository"
    BAD_REF = "bad ref"
    AUTH = "auth"
    REMOTE = "remote"
    OTHER = "other"


_NOT_A_REPOSITORY: Final = ("not a git repository", "cannot change to")
_BAD_REF: Final = (
    "unknown revision",
    "bad revision",
    "needed a single revision",
    "not a valid object name",
    "invalid object name",
    "bad object",
    "couldn't find remote ref",
    "not a valid ref",
    "invalid reference",
)
_AUTH: Final = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "http 401",
    "http 403",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_REMOTE: Final = (
    "could not read from remote repository",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "repository not found",
    "not found",
    "unable to connect",
)


def _classify(stderr: str) -> _Failure:
    said = stderr.lower()
    for failure, needles in (
        (_Failure.NOT_A_REPOSITORY, _NOT_A_REPOSITORY),
        (_Failure.AUTH, _AUTH),
        (_Failure.BAD_REF, _BAD_REF),
        (_Failure.REMOTE, _REMOTE),
    ):
        if any(n in said for n in needles):
            return failure
    return _Failure.OTHER


@attrs.frozen
class Answer:
    returncode: int
    stdout: str
    stderr: str


class Git:
    """Runs ``git -C <repo> ...`` with a timeout, a safe environment and typed failures."""

    def __init__(
        self,
        *,
        executable: str,
        repo: str,
        timeout: float,
        source: str,
        secrets: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.executable = executable
        self.repo = repo
        self.timeout = timeout
        self.source = source
        self.secrets = (*secrets, *url_secrets(repo))
        self.extra_env = dict(env or {})

    def redact(self, text: str) -> str:
        """Mask URL credentials and this runner's secrets in ``text``."""
        return redact(text, self.secrets)

    def excerpt(self, text: str) -> str:
        """Return git's message, redacted and cut to a readable length."""
        return excerpt(text, self.secrets)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "LC_ALL": "C",
                "LANGUAGE": "C",
                "GIT_PAGER": "cat",
            }
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, what: str, check: bool = True, cwd: str | None = None) -> Answer:
        """Run git; with ``check``, a non-zero exit raises a classified SourceError."""
        where = cwd or self.repo
        command = [
            self.executable,
            "--no-pager",
            "--literal-pathspecs",  # file names are never glob patterns
            "-C",
            where,
            "-c",
            "color.ui=false",
            "-c",
            "core.quotepath=off",
            "-c",
            "log.showSignature=false",
            *args,
        ]
        # Every raise below happens outside the `except` that saw the failure, so that no
        # exception carries it as __context__: subprocess's errors quote the whole argv.
        started: subprocess.Popen[bytes] | OSError
        try:
            started = subprocess.Popen(  # noqa: S603 - an argument list, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env(),
                start_new_session=True,  # so that a timeout kills git and its helpers
            )
        except OSError as exc:
            started = exc
        if isinstance(started, FileNotFoundError):
            msg = (
                f"{self.source}: the git executable {self.executable!r} was not found; "
                "install git (2.31 or newer) or pass git='/path/to/git'"
            )
            raise SourceUnavailableError(msg, source=self.source)
        if isinstance(started, OSError):
            msg = (
                f"{self.source}: could not run git {self.executable!r} "
                f"({started.strerror or type(started).__name__}); check that it is an "
                "executable git binary"
            )
            raise SourceUnavailableError(msg, source=self.source)
        with started as process:
            out, err, timed_out = b"", b"", False
            try:
                out, err = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            if timed_out:
                self._kill(process)
                process.communicate()
        if timed_out:
            msg = (
                f"{self.source}: git {self.redact(what)} in {self.redact(where)} gave no "
                f"answer within {self.timeout:g} s and was stopped; check that the repository "
                "and its remote are reachable, or raise the timeout"
            )
            raise SourceTimeoutError(msg, source=self.source, timeout=self.timeout)
        answer = Answer(
            process.returncode,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
        )
        if check and answer.returncode != 0:
            raise self.error(answer, what, where)
        return answer

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:  # pragma: no cover - the group is already gone
            process.kill()

    def error(self, answer: Answer, what: str, where: str | None = None) -> SourceError:
        """Return the typed error for a failed git call."""
        # A repository given as a URL may carry a credential: never show it.
        where = self.redact(where or self.repo)
        what = self.redact(what)
        said = self.excerpt(answer.stderr) or f"exit status {answer.returncode}, no message"
        failure = _classify(answer.stderr)
        if failure is _Failure.NOT_A_REPOSITORY:
            msg = (
                f"{self.source}: {where} is not a git repository (git {what}: {said}); "
                "check the path, or clone the repository there"
            )
            return SourceUnavailableError(msg, source=self.source)
        if failure is _Failure.AUTH:
            msg = (
                f"{self.source}: the remote refused the credentials (git {what}: {said}); "
                "check the credential helper, the SSH key or the token this host uses "
                "(git never prompts here)"
            )
            return SourceAuthError(msg, source=self.source)
        if failure is _Failure.BAD_REF:
            msg = (
                f"{self.source}: git {what} in {where} failed: {said}; check that the ref "
                "or commit exists there (fetch it first)"
            )
            return SourceRequestError(msg, source=self.source)
        if failure is _Failure.REMOTE:
            msg = (
                f"{self.source}: could not reach the remote (git {what}: {said}); check the "
                "remote's URL and that this host can reach it"
            )
            return SourceUnavailableError(msg, source=self.source)
        msg = f"{self.source}: git {what} in {where} failed: {said}"
        return SourceUnavailableError(msg, source=self.source)

    def malformed(self, what: str, detail: str) -> MalformedResponseError:
        msg = (
            f"{self.source}: could not read the output of git {self.redact(what)} in "
            f"{self.redact(self.repo)}: "
            f"{self.redact(detail)}; check that {self.executable!r} is git 2.31 or newer"
        )
        return MalformedResponseError(msg, source=self.source)
