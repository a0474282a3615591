"""The options of `cellmeet bench` and `cellmeet bench audit`, apart from the benches themselves: the
command's parser is built at every `cellmeet` run, and importing the benches (aiohttp's client, asyncpg,
the servers they start) added about half a second of start-up to every other command, the operator's and
the tests' alike (docs/performance.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The live-room load bench (server/bench/run.py)."""
    parser.add_argument("--members", type=int, default=500, help="simulated members in all (default 500)")
    parser.add_argument("--meetings", type=int, default=50, help="meetings they are spread over (default 50)")
    parser.add_argument("--concurrency", type=int, default=50, help="joins in flight at once (default 50)")
    parser.add_argument("--rounds", type=int, default=20, help="hand emits per meeting (default 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between a meeting's emits")
    parser.add_argument("--idle-seconds", type=float, default=2.0, help="idle window with all joined")
    parser.add_argument("--aiortc-peers", type=int, default=2, help="aiortc peers in a meeting of their own")
    parser.add_argument("--database-url", default=None, help="postgresql://USER@127.0.0.1:5432/NEW_DB_NAME")
    parser.add_argument(
        "--also-postgresql",
        default=None,
        metavar="URL",
        help="run again on a new database of this PostgreSQL server (postgresql://USER@127.0.0.1:5432/)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="K > 1: K server processes on one PostgreSQL (--database-url) and Redis (bench.processes)",
    )
    parser.add_argument(
        "--redis-url", default=None, help="with --processes (default redis://127.0.0.1:6379/0)"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    sfu_arguments(parser)


def sfu_arguments(parser: argparse.ArgumentParser) -> None:
    """The SFU bench (server/bench/sfu.py)."""
    parser.add_argument("--sfu", action="store_true", help="the SFU bench (issue 27): Janus, root only")
    parser.add_argument("--sfu-rooms", type=int, default=5, help="with --sfu: rooms of the second phase")
    parser.add_argument("--sfu-workers", type=int, default=2, help="with --sfu: member processes")
    parser.add_argument("--sfu-seconds", type=float, default=20.0, help="with --sfu: steady window")
    parser.add_argument("--sfu-turn", type=float, default=1.0, help="with --sfu: seconds a speaker talks")
    parser.add_argument("--sfu-join-gap", type=float, default=0.25, help="with --sfu: seconds between joins")
    parser.add_argument("--sfu-mesh-max", type=int, default=8, help="with --sfu: largest mesh tried")


def audit_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The audit verification bench (server/bench/audit.py)."""
    parser.add_argument("--entries", type=int, default=100_000, help="audit rows in the log (default 100000)")
    parser.add_argument("--checkpoint-every", type=int, default=1000, help="rows between checkpoints")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each measure (median reported)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
