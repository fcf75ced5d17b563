"""The command line's entry point. It stays light: a `shotbuild build` with nothing
to do is answered from the no-op record (shotbuild.noop) before click or anything
heavy is imported; everything else goes to the click group in
shotbuild.commands.root, which names `cli`, `LazyGroup` and the rest here too."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported: the no-op fast path starts here
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# command name -> module under shotbuild.commands that defines `cli` (a click command).
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "plan": "plan",
    "explain": "explain",
    "build": "build",
    "status": "status",
    "looks": "looks",
    "clean": "clean",
    "gc": "gc",
    "lock": "lock",
    "merge-lock": "merge_lock",
    "emulate": "emulate",
    "doctor": "doctor",
    "init": "init",
    "schema": "schema",
    "review": "review",
    "pick": "pick",
    "takes": "takes",
    "reroll": "reroll",
}

INTERRUPTED = (
    "shotbuild: interrupted; nothing more was submitted. Jobs already submitted keep"
    " rendering at HeyGen (and are paid for): their video_ids are recorded, and the next"
    " `shotbuild build` resumes them instead of paying again"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from shotbuild.noop import fast_build

        done = fast_build(args)
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED + "\n")
        return 130
    if done is not None:
        return done
    group = globals().get("cli")  # a test may put its own command here
    if group is None:
        from shotbuild.commands import plain

        done = plain.run(args)  # a plain build without click
        if done is not None:
            return done
    from shotbuild.commands import root

    return root.run(argv, group)


def __getattr__(name: str) -> Any:
    """`cli` (the click group), `LazyGroup` and the handler's parts, imported on use."""
    if name.startswith("__"):
        raise AttributeError(name)
    from shotbuild.commands import root

    return getattr(root, name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
