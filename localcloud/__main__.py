"""Command line of the local cloud: `python -m localcloud demo`, `replay FILE...` and `faults [SCENARIO...]`."""

import argparse
import logging
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_ROOT / "layers" / "common"), str(_ROOT)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the control plane's story offline and print what happened")
    replay = commands.add_parser("replay", help="what would the control plane do with these EventBridge events?")
    replay.add_argument("files", nargs="+", help="JSON files, each one event or a list of events")
    faults = commands.add_parser("faults", help="every workflow path with one AWS failure at each call site in turn")
    faults.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    faults.add_argument("--max-sites", type=int, help="at most this many call sites per scenario")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # moto logs every Fail state as an error; the timeline already shows each execution's end.
    logging.getLogger("moto").setLevel(logging.CRITICAL)

    from controlplane.errors import ConfigError  # noqa: PLC0415 - after sys.path is set

    try:
        if arguments.command == "demo":
            from localcloud.demo import run_demo  # noqa: PLC0415

            return run_demo(sys.stdout)
        if arguments.command == "faults":
            from localcloud.faults import main as run_faults  # noqa: PLC0415

            return run_faults(arguments.scenarios, sys.stdout, arguments.max_sites)
        from localcloud.replay import replay as run_replay  # noqa: PLC0415

        return run_replay(arguments.files, sys.stdout)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
