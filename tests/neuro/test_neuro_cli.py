"""The study scripts' shared command line (neuro/cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro.cli import parse_study_args, study_parser


def _parser():
    parser = study_parser("doc", ("train", "figures"), "metarl")
    parser.add_argument("--threads", type=int, default=1)
    return parser


def test_options_and_overrides_in_any_order():
    args = parse_study_args(_parser(), ["train", "a=1", "--threads", "2", "b.c=x", "--out", "d"])
    assert (args.command, args.threads, args.out, args.overrides) == ("train", 2, Path("d"), ["a=1", "b.c=x"])


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "lr"], "overrides must be key=value; got ['lr']"),
    (["figures", "a=1"], "figures needs --out DIR"),
    (["evaluate"], "invalid choice: 'evaluate'"),
])
def test_bad_command_lines_exit_2_naming_the_problem(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        parse_study_args(_parser(), argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_commands_that_need_out_are_the_callers_choice(capsys):
    assert parse_study_args(_parser(), ["train"]).out is None
    with pytest.raises(SystemExit):
        parse_study_args(_parser(), ["train"], needs_out=("train", "figures"))
    assert "train needs --out DIR" in capsys.readouterr().err
