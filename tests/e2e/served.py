"""`python -m localcloud serve` as a subprocess on a free port, for tests that talk to it over HTTP."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_SECONDS = 120.0  # only a hung server takes this long to start or stop; nothing asserts on time
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    output: Path

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def advance(self, seconds: float) -> str:
        query = urllib.parse.urlencode({"seconds": seconds})
        request = urllib.request.Request(f"{self.url}/localcloud/advance?{query}", method="POST")
        with urllib.request.urlopen(request, timeout=HANG_GUARD_SECONDS) as response:
            return str(json.loads(response.read())["now"])

    def environment(self) -> dict[str, str]:
        """What a shell needs to reach this cloud with the AWS CLI and mlops."""
        return {**os.environ, **LOCAL_CREDENTIALS, "MLOPS_ENDPOINT_URL": self.url, "MLOPS_STACK": "mlops-local"}


@contextlib.contextmanager
def served_local_cloud(speed: float = 0) -> Iterator[Served]:
    """Start `serve --port 0`, wait for its ready line, and interrupt it (SIGINT, as Ctrl-C does) at the end."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "serve.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "localcloud", "serve", "--port", "0", "--speed", str(speed)],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + HANG_GUARD_SECONDS
            while not (found := re.search(r"localcloud ready at (http://\S+) ", output.read_text())):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start (exit {process.poll()}):\n{output.read_text()}")
                time.sleep(0.05)
            yield Served(found.group(1), process, output)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(HANG_GUARD_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
