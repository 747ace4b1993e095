"""Starts moto's server for the local cloud, the way `moto_server` does (same flags: -H HOST -p PORT
...), after applying the local cloud's corrections to moto's CloudFormation (corrections/).

    .venv/bin/python localcloud/moto/launcher.py -H 127.0.0.1 -p 4566
    .venv/bin/python localcloud/moto/launcher.py --no-corrections -H 127.0.0.1 -p 4566   # vanilla moto

The corrections replace moto functions by name, so they are only applied to the moto release they
were written against; with any other installed release the launcher refuses to start, unless
LOCALCLOUD_MOTO_ANY_VERSION=1 says to try anyway (then run the tests in localcloud/moto/tests).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

ANY_VERSION_ENV = "LOCALCLOUD_MOTO_ANY_VERSION"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--no-corrections", action="store_true")
    ours, moto_args = parser.parse_known_args(argv)
    if "-h" in moto_args or "--help" in moto_args:
        print(__doc__)

    # corrections/ sits beside this file; the launcher is run as a script from any directory.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from corrections import PATCHED_MOTO_VERSION, apply_all

    if ours.no_corrections:
        print("localcloud: moto starts without corrections (--no-corrections)", file=sys.stderr)
    else:
        try:
            installed = importlib.metadata.version("moto")
        except importlib.metadata.PackageNotFoundError:
            print("localcloud: moto is not installed in this Python; run tools/setup", file=sys.stderr)
            return 2
        if installed != PATCHED_MOTO_VERSION and os.environ.get(ANY_VERSION_ENV) != "1":
            print(
                f"localcloud: the installed moto is {installed}, but the corrections in "
                f"{os.path.dirname(os.path.abspath(__file__))}/corrections patch moto {PATCHED_MOTO_VERSION}; "
                f"install moto[server]=={PATCHED_MOTO_VERSION} (tools/setup does), or set "
                f"{ANY_VERSION_ENV}=1 to start with the corrections anyway, or pass --no-corrections",
                file=sys.stderr,
            )
            return 2
        names = apply_all()
        print(f"localcloud: moto {installed} with corrections: {', '.join(names)}", file=sys.stderr)

    from moto.server import main as moto_server

    moto_server(moto_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
