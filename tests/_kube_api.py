"""A fake Kubernetes API server for running the real ``kubectl`` against, on 127.0.0.1.

``tests/test_kubectl.py`` (plain HTTP, with failures switched on and off) and
``tests/_adapter_fixtures.py`` (HTTPS with a bearer token, for the conformance
kit) both serve ``tests/data/kubectl/cluster-checkout.json`` with it; they
import it as a plain module (tests/conftest.py puts tests/ on ``sys.path``).

Nothing here imports pytest or another test module.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import urllib.parse


class FakeKubeAPI:
    """A Kubernetes API server on 127.0.0.1 just big enough for the kubectl calls we make.

    It serves legacy discovery (``/api``, ``/apis``, ``/apis/apps/v1``), GET
    of a Namespace, GET and list of Deployments and ReplicaSets (equality
    label selectors and ``metadata.name`` field selectors), a watch that
    closes at once, and the JSON patch ``rollout undo`` sends (``dryRun=All``
    stores nothing). On a real patch it does at once what the deployment
    controller would: the ReplicaSet with the same template is reused and
    renumbered, and the rollout is complete (or, with ``stall``, never
    progresses).

    Every request is logged in ``requests`` as ``(method, path, query)``.
    Failures are switched on by attributes: ``forbidden`` (resource names
    answered 403), ``unauthorized`` (every request answered 401). With
    ``ssl_context`` it speaks HTTPS (kubectl sends a bearer token only over
    TLS); built with ``token`` it answers 401 to any request that does not
    carry ``Authorization: Bearer <token>``, counting the ones that did in
    ``authorized``. ``intercept``, when set, is called first with the request
    handler, the method, the path and the query; if it returns true it has
    answered (or hung until ``stopping`` is set, as leaving the block does) and
    the request goes no further.
    """

    def __init__(
        self, objects, *, token=None, ssl_context=None, now="2026-11-20T14:30:00Z"
    ) -> None:
        self.deployments = {d["metadata"]["name"]: copy.deepcopy(d) for d in objects["deployments"]}
        self.replicasets = [copy.deepcopy(r) for r in objects["replicasets"]]
        self.now = now
        self.token = token
        self.authorized = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.forbidden: set[str] = set()
        self.unauthorized = False
        self.stall = False
        self.intercept = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                """Stay quiet."""

            def do_GET(self):
                """Answer a read."""
                api.handle(self, "GET", b"")

            def do_PATCH(self):
                """Answer a patch."""
                api.handle(self, "PATCH", self.rfile.read(int(self.headers["Content-Length"])))

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "http" if ssl_context is None else "https"
        self._thread = threading.Thread(target=self._server.serve_forever)

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        """Start serving."""
        self._thread.start()
        return self

    def __exit__(self, *exc):
        """Stop serving (waking any hanging request) and close the socket."""
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def patches(self) -> list[dict[str, str]]:
        """The query strings of the PATCH requests received."""
        with self._lock:
            return [q for m, _, q in self.requests if m == "PATCH"]

    def handle(self, handler, method, body):
        """Route one request and answer it."""
        parts = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        with self._lock:
            self.requests.append((method, parts.path, query))
        if self.intercept is not None and self.intercept(handler, method, parts.path, query):
            return
        with self._lock:
            allowed = not self.unauthorized and (
                self.token is None or handler.headers.get("Authorization") == f"Bearer {self.token}"
            )
            if allowed and self.token is not None:
                self.authorized += 1
            if not allowed:
                code, answer = _status(401, "Unauthorized", "Unauthorized")
            else:
                code, answer = self.route(method, parts.path.strip("/").split("/"), query, body)
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        if answer is None:  # a watch that ends at once
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"0\r\n\r\n")
            return
        data = json.dumps(answer).encode()
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def route(self, method, segments, query, body):  # noqa: C901, PLR0911 - one server
        """Return the status and the body for a request."""
        discovered = _discovery(segments)
        if discovered is not None:
            return 200, discovered
        if segments[:3] == ["api", "v1", "namespaces"] and len(segments) == 4:
            return self.namespace(segments[3])
        if segments[:4] != ["apis", "apps", "v1", "namespaces"] or len(segments) not in {6, 7}:
            return _status(404, "NotFound", "the server could not find the requested resource")
        namespace, resource = segments[4], segments[5]
        name = segments[6] if len(segments) == 7 else None
        if resource in self.forbidden:
            verb = "patch" if method == "PATCH" else "get" if name else "list"
            what = f'{resource}.apps "{name}"' if name else f"{resource}.apps"
            return _status(
                403,
                "Forbidden",
                f'{what} is forbidden: User "system:serviceaccount:ops:'
                f'incidentkit" cannot {verb} resource "{resource}" in API group "apps" in '
                f'the namespace "{namespace}"',
            )
        kind = {"deployments": "Deployment", "replicasets": "ReplicaSet"}[resource]
        pool = self.deployments.values() if resource == "deployments" else self.replicasets
        pool = [o for o in pool if o["metadata"]["namespace"] == namespace]
        if name is None:
            if query.get("watch") == "true":
                return 200, None
            items = [
                {k: v for k, v in o.items() if k not in {"kind", "apiVersion"}}
                for o in pool
                if _matches(o, query)
            ]
            return 200, {
                "kind": f"{kind}List",
                "apiVersion": "apps/v1",
                "metadata": {"resourceVersion": "50000"},
                "items": items,
            }
        found = next((o for o in pool if o["metadata"]["name"] == name), None)
        if found is None:
            return _status(404, "NotFound", f'{resource}.apps "{name}" not found')
        if method == "PATCH":
            patched = copy.deepcopy(found)
            for operation in json.loads(body):
                *parents, last = operation["path"].strip("/").split("/")
                target = patched
                for key in parents:
                    target = target[key]
                target[last] = operation["value"]
            if query.get("dryRun") != "All":
                self.roll_out(patched)
                self.deployments[name] = patched
            return 200, {"kind": kind, "apiVersion": "apps/v1", **patched}
        return 200, {"kind": kind, "apiVersion": "apps/v1", **found}

    def namespace(self, name):
        """Return the status and the body for a GET of one Namespace."""
        namespaces = {
            o["metadata"]["namespace"] for o in [*self.deployments.values(), *self.replicasets]
        }
        if name in namespaces:
            return 200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}}
        return _status(404, "NotFound", f'namespaces "{name}" not found')

    def roll_out(self, deployment):
        """Do what the deployment controller would: reuse and renumber the matching ReplicaSet."""
        uid = deployment["metadata"]["uid"]
        owned = [
            r
            for r in self.replicasets
            if any(o["uid"] == uid for o in r["metadata"].get("ownerReferences", []))
        ]
        latest = max(
            int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for r in owned
        )
        wanted = _template_key(deployment["spec"]["template"])
        new_rs = ""
        for rs in owned:
            if _template_key(rs["spec"]["template"]) == wanted:
                annotations = rs["metadata"]["annotations"]
                old = annotations["deployment.kubernetes.io/revision"]
                before = annotations.get("deployment.kubernetes.io/revision-history")
                annotations["deployment.kubernetes.io/revision-history"] = (
                    f"{before},{old}" if before else old
                )
                annotations["deployment.kubernetes.io/revision"] = str(latest + 1)
                new_rs = rs["metadata"]["name"]
        deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = str(latest + 1)
        deployment["metadata"]["generation"] += 1
        if self.stall:  # the new pods never become ready, the controller never catches up
            return
        deployment["status"]["observedGeneration"] = deployment["metadata"]["generation"]
        for condition in deployment["status"]["conditions"]:
            if condition["type"] == "Progressing":
                condition.update(
                    lastUpdateTime=self.now,
                    reason="NewReplicaSetAvailable",
                    message=f'ReplicaSet "{new_rs}" has successfully progressed.',
                )


def _discovery(segments):
    """The body of a discovery request (version, API groups, resources), or None."""
    if segments == ["version"]:
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.0"}
    if segments == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
            ],
        }
    if segments == ["apis"]:
        version = {"groupVersion": "apps/v1", "version": "v1"}
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{"name": "apps", "versions": [version], "preferredVersion": version}],
        }
    if segments == ["api", "v1"]:
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": []}
    if segments == ["apis", "apps", "v1"]:
        verbs = ["get", "list", "patch", "update", "watch"]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "apps/v1",
            "resources": [
                {
                    "name": "deployments",
                    "singularName": "deployment",
                    "namespaced": True,
                    "kind": "Deployment",
                    "verbs": verbs,
                    "shortNames": ["deploy"],
                },
                {
                    "name": "replicasets",
                    "singularName": "replicaset",
                    "namespaced": True,
                    "kind": "ReplicaSet",
                    "verbs": verbs,
                    "shortNames": ["rs"],
                },
            ],
        }
    return None


def _status(code, reason, message):
    """A Kubernetes ``Status`` failure body with its HTTP status."""
    return code, {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _template_key(template):
    """A pod template as a string, without what the controller adds (to compare templates)."""
    template = copy.deepcopy(template)
    template["metadata"].get("labels", {}).pop("pod-template-hash", None)
    if template["metadata"].get("creationTimestamp", "") is None:
        del template["metadata"]["creationTimestamp"]
    return json.dumps(template, sort_keys=True)


def _matches(obj, query):
    """Whether ``obj`` passes the equality label selector and the name field selector."""
    labels = obj["metadata"].get("labels", {})
    for term in filter(None, query.get("labelSelector", "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    field = query.get("fieldSelector", "")
    return not field.startswith("metadata.name=") or obj["metadata"]["name"] == field[14:]
