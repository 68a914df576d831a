"""`python -m localcloud serve`: the local cloud as an AWS-compatible HTTP endpoint, for boto3, the AWS CLI and
`mlops` (`--endpoint-url`).

It is moto's server mode (the WSGI application and request handler `moto.server.ThreadedMotoServer` runs) over
the same in-process backends `LocalCloud` deployed the template on, so every local-cloud extension applies to
requests made over HTTP: a `PutObject` starts the training pipeline, a Model Registry approval deploys it. One
driver thread keeps the local cloud settling (event deliveries, queues, streams, executions) and moves the
virtual clock at `speed` times real time; `POST /localcloud/advance?seconds=N` jumps it forward (the driver does
the jump, so nothing is delivered twice: only the driver thread ever settles the cloud). The template's Outputs
are registered as a CloudFormation stack, so `aws cloudformation describe-stacks` and `mlops --stack` find them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import parse_qs

from localcloud.cloud import REGION, STACK_NAME, LocalCloud, TimelineEntry

DEFAULT_PORT = 4566
DEFAULT_SPEED = 60.0
TICK_SECONDS = 0.1
"""Real seconds between two passes of the driver when nothing asks for one sooner."""
MAX_JUMP_SECONDS = 30 * 24 * 3600
REPORTED_KINDS = frozenset({"execution", "pipeline", "sns", "dlq"})
"""What `advance` reports of what happened during the jump: workflows, pipelines, notifications, dead letters."""
_WAIT_FOR_DRIVER_SECONDS = 600.0  # a jump that takes longer than this means the local cloud deadlocked

_log = logging.getLogger("localcloud")

Environ = dict[str, Any]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class _Jump:
    seconds: float
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


class ServedCloud:
    """A started `LocalCloud` served over HTTP. `start()` returns once requests are answered; `stop()` ends it."""

    def __init__(
        self,
        cloud: LocalCloud,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        speed: float = DEFAULT_SPEED,
        on_timeline: Callable[[TimelineEntry], None] | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError(f"--speed must be 0 or more (virtual seconds per real second), got {speed:g}")
        self.cloud = cloud
        self.speed = speed
        self._host = host
        self._port = port
        self._on_timeline = on_timeline
        self._jumps: queue.Queue[_Jump] = queue.Queue()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._driver: threading.Thread | None = None
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._shown = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - moto's server extras, needed only here
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server  # noqa: PLC0415

        self._register_stack()
        moto_app = DomainDispatcherApplication(create_backend_app)

        def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            if str(environ.get("PATH_INFO", "")).startswith("/localcloud/"):
                return self._answer(environ, start_response)
            return moto_app(environ, start_response)  # type: ignore[no-any-return]

        self._server = make_server(
            self._host, self._port, application, threaded=True, request_handler=MotoRequestHandler
        )
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="localcloud-http", daemon=True)
        self._server_thread.start()
        self._driver = threading.Thread(target=self._drive, name="localcloud-driver", daemon=True)
        self._driver.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in (self._server_thread, self._driver):
            if thread is not None:
                thread.join()

    # ----------------------------------------------------------------- the stack
    def _register_stack(self) -> None:
        """The template's Outputs as a CloudFormation stack named like the local cloud's resources.

        moto's CloudFormation would create resources of its own from the real template; this stack holds only a
        placeholder resource and the outputs, resolved by the local cloud."""
        template = {
            "Description": "The local cloud's deployment of template.yaml (outputs only; see localcloud/serve.py).",
            "Resources": {"LocalCloud": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": self.cloud.outputs,
        }
        with warnings.catch_warnings():  # moto warns that it does not create WaitConditionHandle: nothing to create
            warnings.simplefilter("ignore", UserWarning)
            self.cloud.client("cloudformation").create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(template))

    # ----------------------------------------------------------------- the clock
    def advance(self, seconds: float) -> tuple[datetime, list[TimelineEntry]]:
        """Jump the virtual clock `seconds` forward, running everything due on the way; returns the new time and
        what happened meanwhile (the timeline's workflow, pipeline, notification and dead-letter entries)."""
        if not 0 <= seconds <= MAX_JUMP_SECONDS:
            raise ValueError(f"seconds must be between 0 and {MAX_JUMP_SECONDS} (30 days), got {seconds:g}")
        if self._stopping.is_set():
            raise RuntimeError("the local cloud is stopping")
        jump = _Jump(seconds)
        first = len(self.cloud.timeline)
        self._jumps.put(jump)
        self._wake.set()
        if not jump.done.wait(_WAIT_FOR_DRIVER_SECONDS):
            raise TimeoutError(f"the local cloud did not advance within {_WAIT_FOR_DRIVER_SECONDS:g} real seconds")
        if jump.error:
            raise RuntimeError(jump.error)
        happened = [entry for entry in self.cloud.timeline[first:] if entry.kind in REPORTED_KINDS]
        return self.cloud.clock.now(), happened

    def _drive(self) -> None:
        """The only thread that settles the cloud: real time elapsed times `speed`, plus requested jumps."""
        last = time.monotonic()
        while not self._stopping.is_set():
            jumps: list[_Jump] = []
            while not self._jumps.empty():
                jumps.append(self._jumps.get_nowait())
            now = time.monotonic()
            seconds = (now - last) * self.speed + sum(jump.seconds for jump in jumps)
            last = now
            error: str | None = None
            try:
                if seconds > 0:
                    self.cloud.advance(seconds)
                else:
                    self.cloud.settle(horizon=self.cloud.clock.now())
            except Exception as failure:  # the local cloud stays up; the operator sees why a step failed
                _log.exception("The local cloud failed while settling")
                error = f"the local cloud failed while settling: {failure}"
            for jump in jumps:
                jump.error = error
                jump.done.set()
            self._show_timeline()
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
        for jump in list(self._jumps.queue):
            jump.error = "the local cloud stopped"
            jump.done.set()

    def _show_timeline(self) -> None:
        if self._on_timeline is None:
            return
        entries = self.cloud.timeline[self._shown :]
        self._shown += len(entries)
        for entry in entries:
            self._on_timeline(entry)

    # ----------------------------------------------------------------- /localcloud/ endpoints
    def _answer(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        status, body = "200 OK", {}
        if path == "/localcloud/clock" and method == "GET":
            body = {"now": self.cloud.clock.now().isoformat(), "speed": self.speed}
        elif path == "/localcloud/advance" and method == "POST":
            try:
                seconds = float(query.get("seconds", [""])[0])
                now, happened = self.advance(seconds)
                body = {
                    "now": now.isoformat(),
                    "advanced_seconds": seconds,
                    "happened": [timeline_line(entry) for entry in happened],
                }
            except ValueError as error:
                status, body = "400 Bad Request", {"error": f"{error}; use POST /localcloud/advance?seconds=N"}
            except (RuntimeError, TimeoutError) as error:
                status, body = "500 Internal Server Error", {"error": str(error)}
        else:
            status = "404 Not Found"
            body = {"error": f"{method} {path}: use GET /localcloud/clock or POST /localcloud/advance?seconds=N"}
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def ready_line(served: ServedCloud) -> str:
    url = served.url
    return (
        f"localcloud ready at {url} (stack {STACK_NAME}, region {REGION}, virtual time "
        f"{served.cloud.clock.now().isoformat()} at {served.speed:g}x). "
        f"Use: export MLOPS_ENDPOINT_URL={url} MLOPS_STACK={STACK_NAME} AWS_DEFAULT_REGION={REGION} "
        "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local; outputs: "
        f"aws --endpoint-url {url} cloudformation describe-stacks --stack-name {STACK_NAME}"
    )


def timeline_line(entry: TimelineEntry) -> str:
    return f"{entry.at.strftime('%Y-%m-%dT%H:%M:%SZ')}  {entry.kind:<10} {entry.text}"


def serve(out: TextIO, host: str, port: int, speed: float, stop: threading.Event) -> int:
    """Deploy, seed and serve until `stop` is set (the command line sets it on SIGINT and SIGTERM)."""
    from controlplane.config import load_config  # noqa: PLC0415 - the layer is on sys.path by now

    config = load_config()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with LocalCloud() as cloud:
        cloud.seed(config)

        def show(entry: TimelineEntry) -> None:
            out.write(timeline_line(entry) + "\n")
            out.flush()

        served = ServedCloud(cloud, host, port, speed, on_timeline=show)
        served.start()
        try:
            out.write(ready_line(served) + "\n")
            out.flush()
            stop.wait()
        finally:
            served.stop()
    out.write("localcloud stopped\n")
    out.flush()
    return 0
