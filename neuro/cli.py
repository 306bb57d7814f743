"""The command line every study script shares: `scripts/<study>.py COMMAND [--out DIR] [key=value ...]`.

A study script names its commands and its config file; `study_parser` gives it the subcommand, `--out` and
the key=value overrides of `configs/neuro/<study>.yaml`, the script adds its own options, and
`parse_study_args` rejects an override without `=` and a missing `--out` for the commands that write files,
before any work starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from pathlib import Path


def study_parser(doc: str, commands: Sequence[str], study: str, out_help: str = "output directory"
                 ) -> argparse.ArgumentParser:
    """A parser with the positional `command` (one of `commands`), `--out` and `overrides`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=tuple(commands))
    parser.add_argument("--out", type=Path, default=None, help=out_help)
    parser.add_argument("overrides", nargs="*", help=f"key=value overrides of configs/neuro/{study}.yaml")
    return parser


def parse_study_args(parser: argparse.ArgumentParser, argv: Sequence[str],
                     needs_out: Collection[str] = ("figures",)) -> argparse.Namespace:
    """Parse options and overrides in any order; exit 2 naming an override without `=`, or a command of
    `needs_out` given without `--out DIR`."""
    args = parser.parse_intermixed_args(list(argv))
    bad = [override for override in args.overrides if "=" not in override]
    if bad:
        parser.error(f"overrides must be key=value; got {bad}")
    if args.command in needs_out and args.out is None:
        parser.error(f"{args.command} needs --out DIR")
    return args
