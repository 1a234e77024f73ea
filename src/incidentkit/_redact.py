"""Keeping secrets out of every text a person or a journal reads: one set of masks for all adapters.

Three kinds of text need masking before they reach a message, a warning, a
finding or a ``repr``:

* text that may quote a credential the adapter holds (a server echoing the
  request's headers, a tool repeating its command line): :func:`mask_secrets`
  masks each known secret, and the forms it takes on the way (URL-encoded,
  JSON- or ``repr``-escaped, HTML-escaped, base64 as in a basic-auth header);
* text that may hold a URL whose secret the adapter never knew (a redirect's
  ``Location`` with ``?session=...``): :func:`mask_urls` masks the user
  information, every query value and the fragment of every URL in it, whatever
  the parameters are called;
* text that may quote an ``Authorization`` header the adapter never set (a
  token from a kubeconfig, git's ``http.extraHeader``, a password from a
  credential helper or ``GIT_ASKPASS``, echoed by a server or a tool):
  :func:`mask_authorization` masks its credentials, whatever the scheme;
* a command line: :func:`mask_argv` masks the values of options named like
  credentials (``--token=...``, ``--password ...``, ``-c http.extraHeader=...``).

:func:`redact` does the first three, which is what a message built from a
server's or a tool's words needs.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "MASK",
    "basic_credentials",
    "mask_argv",
    "mask_authorization",
    "mask_secrets",
    "mask_url",
    "mask_urls",
    "redact",
    "secret_forms",
]

MASK = "***"
"""What a masked value becomes."""

#: A URL in running text: a scheme, ``://``, then up to a space, a quote or a bracket.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`\\]+")
#: An ``Authorization`` (or ``Proxy-Authorization``) header's value in text: as a header line
#: (``Authorization: Bearer X``), an option (``-H "Authorization: token X"``), a JSON or a
#: Python mapping (``"authorization": "Basic X"``, escaped or not), a setting
#: (``authorization=X``). ``scheme`` is kept; ``credentials`` is the token (RFC 7235's
#: token68) or the auth-params (``Digest username="u", response="..."``) that follow it.
_AUTHORIZATION_PARAM = r"""[A-Za-z0-9_-]+=(?:\\?"(?:[^"\\\n]|\\[^"])*\\?"|[^\s"'\\,;&]*)"""
_AUTHORIZATION = re.compile(
    r"""(?P<name>\b(?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?)"""
    r"""(?:(?P<scheme>[A-Za-z][A-Za-z0-9._~+-]*)[ \t]+(?=[^\s"'\\]))?"""
    rf"""(?P<credentials>(?:{_AUTHORIZATION_PARAM}|[^\s"'\\,;&]+)"""
    rf"""(?:[ \t]*,[ \t]*{_AUTHORIZATION_PARAM})*)""",
    re.IGNORECASE,
)
#: Words that make an option's value a credential (matched in its lower-cased name).
_SECRET_WORDS = (
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
    "auth",
    "apikey",
    "api-key",
    "api_key",
    "private-key",
    "extraheader",
    "cookie",
)
#: Options whose value is the next argument and may hold ``name=value`` (``git -c``).
_SETTING_OPTIONS = frozenset({"-c", "--config"})


def secret_forms(secret: str) -> tuple[str, ...]:
    """Return the forms ``secret`` takes in text: itself, encoded and escaped.

    The forms are the secret, its URL encodings (path and form style), its
    JSON, ``repr`` and HTML escapes, and its base64 (standard and URL-safe,
    with and without padding). An empty secret has no forms.

    Args:
        secret: A credential's value.

    Returns:
        The distinct non-empty forms, the secret first.
    """
    if not secret:
        return ()
    encoded = base64.b64encode(secret.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(secret.encode()).decode()
    forms = (
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret),
        encoded,
        encoded.rstrip("="),
        urlsafe,
        urlsafe.rstrip("="),
    )
    return tuple(dict.fromkeys(f for f in forms if f))


def basic_credentials(username: str, password: str) -> str:
    """Return the base64 of ``username:password``, as a basic-auth header carries it.

    Add it to the secrets as well as the password: the header's value holds
    no form of the password alone.
    """
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def mask_secrets(
    text: str, secrets: Iterable[str], *, mask: str | Callable[[int], str] = MASK
) -> str:
    """Return ``text`` with every form of every secret masked.

    All the forms (:func:`secret_forms`) of all the secrets are replaced in
    one pass, longest first, so that a secret containing another is masked
    whole and a mask is never masked again.

    Args:
        text: The text to clean.
        secrets: The values to mask; empty ones are ignored.
        mask: The replacement, or a function of the secret's position in
            ``secrets`` (from 0) that returns it.

    Returns:
        The text with no form of a secret left in it.
    """
    pattern, owner = _pattern(tuple(secrets))
    if pattern is None:
        return text
    if isinstance(mask, str):
        fixed = mask
        return pattern.sub(lambda _match: fixed, text)
    numbered = mask
    return pattern.sub(lambda match: numbered(owner[match.group()]), text)


@functools.lru_cache(maxsize=64)
def _pattern(secrets: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, int]]:
    """Return one pattern for every form of ``secrets``, longest first, and each form's owner."""
    owner: dict[str, int] = {}
    for position, secret in enumerate(secrets):
        for form in secret_forms(secret):
            owner.setdefault(form, position)
    if not owner:
        return None, owner
    forms = sorted(owner, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in forms)), owner


def _mask_pair(pair: str) -> str:
    name, equals, value = pair.partition("=")
    if not equals:
        return MASK if name else name  # a bare value, such as ?s3cr3t
    return f"{name}={MASK}" if value else pair


def mask_url(url: str, *, userinfo: str = MASK + "@") -> str:
    """Return ``url`` with its user information, query values and fragment masked.

    Every query value is masked, whatever its parameter's name: a URL that
    reaches a message may carry a token under any name (``?session=...``).
    The parameter names, the host and the path stay, so the message still
    says where.

    Args:
        url: A URL, such as ``https://user:pw@host/p?session=abc#frag``.
        userinfo: What the user information (with its ``@``) becomes; ``""``
            drops it.

    Returns:
        Such as ``https://***@host/p?session=***#***``.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority = re.match(r"[^/?#]*", rest)
    host = authority.group() if authority else ""
    tail = rest[len(host) :]
    if "@" in host:
        host = userinfo + host.rpartition("@")[2]
    before_fragment, hash_sign, fragment = tail.partition("#")
    path, question, query = before_fragment.partition("?")
    if question:
        query = "&".join(_mask_pair(pair) for pair in query.split("&"))
    shown = f"{scheme}://{host}{path}{question}{query}"
    if hash_sign:
        shown += f"#{MASK}" if fragment else "#"
    return shown


def mask_urls(text: str) -> str:
    """Return ``text`` with every URL in it masked as :func:`mask_url` does."""
    return _URL.sub(lambda match: mask_url(match.group()), text)


def mask_authorization(text: str) -> str:
    """Return ``text`` with the credentials of every ``Authorization`` header in it masked.

    The header may be a line of an HTTP dump (``Authorization: Bearer X``),
    a command-line option (``-H "Authorization: token X"``), a JSON or Python
    mapping (``"authorization": "Basic X"``) or a setting (``authorization=X``);
    ``Proxy-Authorization`` too, in any case. The scheme stays, so that the
    message still says how the client authenticated: ``Authorization: Bearer
    ***``. The credentials are the token after the scheme, or its
    comma-separated ``name=value`` parameters (``Digest``).

    Args:
        text: The text to clean.

    Returns:
        The text with no header's credentials left in it.

    .. versionadded:: 0.2.0
    """

    def masked(match: re.Match[str]) -> str:
        scheme = match["scheme"]
        return f"{match['name']}{scheme} {MASK}" if scheme else f"{match['name']}{MASK}"

    return _AUTHORIZATION.sub(masked, text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with the secrets (in all their forms) and every URL's secrets masked.

    What a message needs before it quotes a server or a tool: the known
    credentials first (also inside URLs), then the credentials of every
    ``Authorization`` header (:func:`mask_authorization`: a token the adapter
    never knew, from a kubeconfig or git's configuration), then the URLs' user
    information, query values and fragments.
    """
    return mask_urls(mask_authorization(mask_secrets(text, secrets)))


def _secret_option(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def mask_argv(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """Return a command line fit to quote: credential options' values and secrets masked.

    ``--token=VALUE`` becomes ``--token=***``; ``--token VALUE`` masks the
    next argument; ``-c http.extraHeader=VALUE`` (git's settings) masks the
    setting's value. An option counts as a credential when its name holds
    ``token``, ``password``, ``secret``, ``auth``, ``credential``, ``api-key``,
    ``cookie`` or ``extraheader``. Every argument is also cleaned by
    :func:`redact`: the known secrets, and the URLs' secrets.

    Args:
        argv: The command line, program first.
        secrets: Known secrets to mask wherever they appear.

    Returns:
        A new list, as long as ``argv``.
    """
    known = tuple(secrets)
    shown: list[str] = []
    mask_next = False
    setting_next = False
    for argument in argv:
        if mask_next:
            shown.append(MASK)
            mask_next = False
            continue
        if setting_next:
            setting_next = False
            name, equals, value = argument.partition("=")
            if equals and value and _secret_option(name):
                shown.append(f"{name}={MASK}")
                continue
        elif argument.startswith("-"):
            name, equals, value = argument.partition("=")
            if _secret_option(name):
                if equals:
                    shown.append(f"{name}={MASK}" if value else argument)
                else:
                    shown.append(argument)
                    mask_next = True
                continue
            setting_next = name in _SETTING_OPTIONS and not equals
        shown.append(redact(argument, known))
    return shown
