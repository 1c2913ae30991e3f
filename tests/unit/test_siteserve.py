"""`replydesk site serve`: a real process builds the site it was pointed at, serves it on a free
loopback port (home and a metrics page fetched over HTTP, a path outside the folder refused),
and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from daemon.site.serve import server
from daemon.storage.database import Database

DEADLINE = 60.0


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def line_with(process: subprocess.Popen[str], needle: str) -> str:
    """The first stdout line holding `needle`, waited for with a deadline (read by a thread,
    since a buffered pipe may hold lines a `select` would not see)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    end = time.monotonic() + DEADLINE
    while (left := end - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if needle in line:
            return line
        if not line:
            break
    raise AssertionError(f"no {needle!r} from site serve (exit {process.poll()})")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    database = Database(url)
    database.upgrade()
    database.dispose()
    path = tmp_path / "replydesk.toml"
    path.write_text(f'[database]\nurl = "{url}"\n\n[site]\ntitle = "Served Desk"\n')
    return path


def test_site_serve_builds_a_missing_site_serves_it_on_loopback_and_stops(
    tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "public"
    env = {k: v for k, v in os.environ.items() if k != "REPLYDESK_CONFIG"}
    command = [sys.executable, "-m", "daemon", "--config", str(config_file), "site", "serve"]
    process = subprocess.Popen(
        [*command, "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        said = line_with(process, "serving ")
        url = said.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        assert (out / "index.html").is_file()  # built first, since there was no site
        status, home = fetch(url)
        assert status == 200 and "Served Desk" in home
        status, overview = fetch(url + "metrics/")
        assert status == 200 and "First response" in overview
        assert fetch(url + "../replydesk.toml")[0] == 404
        (out / "index.html").write_text("<p>swapped</p>", encoding="utf-8")
        assert fetch(url) == (200, "<p>swapped</p>")  # a rebuild shows at the next request
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=DEADLINE) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_site_serve_says_why_when_the_port_is_taken(tmp_path: Path, config_file: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>built</p>", encoding="utf-8")
    taken = server(tmp_path / "site")
    try:
        port = int(taken.server_address[1])
        command = [sys.executable, "-m", "daemon", "--config", str(config_file), "site", "serve"]
        done = subprocess.run(
            [*command, "--port", str(port), "--out", str(tmp_path / "site")],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
    finally:
        taken.server_close()
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
