"""facegan's command line: train | verify | sample | interpolate | mix | eval | attributes | directions | edit | project |
import | digits | download | app. Thin: parse, prepare the arguments, then call the package.

Each command lives in one place: a group module (``train``, ``generate``, ``evaluate``, ``edit``, ``interop``,
``digits``, ``app``) lists :class:`~facegan.cli.common.Command` records with its parser (``add_*_parser``), its
torch-free ``prepare_*`` (check the arguments, and parse the ones run takes parsed: seed lists, attribute names,
the generator's file) and its ``run_*``. Only torch-free modules are imported here: every argument is checked
before a command imports torch (3-4 s), so a mistake is reported at once; heavy modules are imported inside the
commands.
"""
from __future__ import annotations

import argparse
import sys

from facegan.cli import app, digits, edit, evaluate, generate, interop, train
from facegan.cli.common import Parser, make_parents, prepare_shared
from facegan.errors import FaceganError

COMMANDS = {command.name: command for group in (train, generate, evaluate, edit, interop, digits, app)
            for command in group.COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="facegan", description="Face generation with GANs: train, verify, sample, interpolate, mix, eval, "
                                                 "attributes, directions, edit, project, import, digits, download, app.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    parents = make_parents()
    for command in COMMANDS.values():
        command.add_parser(sub, parents)
    return parser


def main(argv: list[str] | None = None) -> int:
    if not sys.stdout.isatty() and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # a log file gets each line as it happens, not in blocks
    args = build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    try:
        command.prepare(args)  # torch-free: before any command's heavy imports
        prepare_shared(args)
        status = command.run(args)  # None, or an exit status of its own (verify: 1 when a file is damaged)
    except FaceganError as e:
        print(f"facegan {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
