"""Deploy history from a git repository, and GitOps rollbacks by ``git revert``.

:class:`GitDeploySource` reads deploys out of a repository in one of two ways:

* **GitOps paths** (``paths={"apps/checkout/": "checkout"}``): every commit on
  the branch's first-parent history that touches a path is a deploy of the
  service mapped to it;
* **deploy tags** (``tags="deploy/{service}/{version}"``): every tag that
  matches the template is a deploy of its service at its version.

:class:`GitOpsRollbackExecutor` rolls a GitOps deploy back by reverting its
commit on the live branch and pushing the revert (``mode="push"``), or by
pushing a revert branch for review (``mode="branch"``). It refuses to revert
through a later commit that touched the same files unless it is told to, and
it rehearses every revert in a temporary worktree first.

Both run the ``git`` executable (never a shell) with a timeout on every call,
with ``GIT_TERMINAL_PROMPT=0`` so that nothing ever waits for a password, and
with ``LC_ALL=C`` so that git's messages can be read. Every failure becomes a
typed :class:`~incidentkit.SourceError` whose message quotes git and never a
credential from a remote URL.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from incidentkit.adapters.git._deploys import GitDeploySource
from incidentkit.adapters.git._revert import GitOpsRollbackExecutor, RevertMode

__all__ = ["GitDeploySource", "GitOpsRollbackExecutor", "RevertMode"]
