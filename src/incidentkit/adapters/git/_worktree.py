"""A detached worktree in a temporary directory, where reverts are rehearsed and committed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from incidentkit.adapters.git._runner import Git


class Worktree:
    """A detached worktree in a temporary directory, removed on exit."""

    def __init__(self, git: Git, commit: str) -> None:
        self._git = git
        self._commit = commit
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._path = ""

    def __enter__(self) -> str:
        self._tmp = tempfile.TemporaryDirectory(
            prefix="incidentkit-git-", ignore_cleanup_errors=True
        )
        self._path = str(Path(self._tmp.name) / "tree")
        try:
            self._git.run(
                "worktree",
                "add",
                "--quiet",
                "--detach",
                "--end-of-options",
                self._path,
                self._commit,
                what="worktree add",
            )
        except BaseException:
            self._tmp.cleanup()
            raise
        return self._path

    def __exit__(self, *_exc: object) -> None:
        try:
            self._git.run(
                "worktree",
                "remove",
                "--force",
                "--force",
                self._path,
                what="worktree remove",
                check=False,
            )
            self._git.run("worktree", "prune", what="worktree prune", check=False)
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
