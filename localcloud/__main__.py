"""Command line of the local cloud: `python -m localcloud demo`, `replay FILE...`, `faults [SCENARIO...]`,
`serve [--port N] [--speed N]` and `advance SECONDS`."""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
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
    serve = commands.add_parser("serve", help="serve the local cloud over HTTP for boto3, the AWS CLI and mlops")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566; 0 picks a free one)")
    serve.add_argument(
        "--speed", type=float, default=60.0, help="virtual seconds per real second (default 60; 0 stops the clock)"
    )
    advance = commands.add_parser("advance", help="jump a served local cloud's virtual clock forward")
    advance.add_argument("seconds", type=float, help="virtual seconds to let pass (everything due on the way runs)")
    advance.add_argument(
        "--endpoint-url",
        default=os.environ.get("MLOPS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        help="the served local cloud's URL (default: MLOPS_ENDPOINT_URL, else http://127.0.0.1:4566)",
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "advance":
        return _advance(arguments.endpoint_url, arguments.seconds)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # moto logs every Fail state as an error; the timeline already shows each execution's end.
    logging.getLogger("moto").setLevel(logging.CRITICAL)

    from controlplane.errors import ConfigError  # noqa: PLC0415 - after sys.path is set

    try:
        if arguments.command == "demo":
            from localcloud.demo import run_demo  # noqa: PLC0415

            return run_demo(sys.stdout)
        if arguments.command == "serve":
            return _serve(arguments.host, arguments.port, arguments.speed)
        if arguments.command == "faults":
            from localcloud.faults import main as run_faults  # noqa: PLC0415

            return run_faults(arguments.scenarios, sys.stdout, arguments.max_sites)
        from localcloud.replay import replay as run_replay  # noqa: PLC0415

        return run_replay(arguments.files, sys.stdout)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _serve(host: str, port: int, speed: float) -> int:
    from localcloud.serve import serve  # noqa: PLC0415

    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    try:
        return serve(sys.stdout, host, port, speed, stop)
    except OSError as error:
        print(f"error: cannot listen on {host}:{port} ({error}); pass --port N (0 picks a free port)", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _advance(endpoint_url: str, seconds: float) -> int:
    url = f"{endpoint_url.rstrip('/')}/localcloud/advance?{urllib.parse.urlencode({'seconds': seconds})}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=900) as response:
            answer = json.loads(response.read())
            print(answer["now"])
            for line in answer.get("happened", []):
                print(f"  {line}")
            return 0
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        try:
            reason = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            reason = f"{error.code} {error.reason}: is {endpoint_url} a local cloud started with `make up`?"
        print(f"error: {reason}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as error:
        print(f"error: no local cloud answers at {endpoint_url} ({error}); start one with `make up`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
