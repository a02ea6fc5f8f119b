"""A real `airflow webserver` and `airflow scheduler` (LocalExecutor, the PostgreSQL metadata
database of the local stack) for one test module, reached over the stable REST API with basic
auth. Used by the operator-UI test (from the release bundle) and the backfill test (from this
checkout)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Airflow:
    """A webserver and a scheduler, stopped (with every child) at the end."""

    def __init__(self, env: dict[str, str], artifacts: Path, user: str, port: int):
        self.env, self.artifacts, self.user, self.port = env, artifacts, user, port
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)  # may start with "-": always passed as --password=…
        self.processes: list[subprocess.Popen] = []

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["airflow", *args], env=self.env, capture_output=True, text=True, check=check, timeout=180)

    def start(self, name: str, *args: str) -> None:
        log = (self.artifacts / f"{name}.log").open("w")
        # Its own session: stopping the group stops gunicorn's workers and the executor's tasks too.
        self.processes.append(subprocess.Popen(["airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, start_new_session=True))

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        for proc in self.processes:
            while time.monotonic() < deadline and _group_alive(proc.pid):
                proc.poll()
                time.sleep(0.5)
            if _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.base}/api/v1/{path}", method=method, data=json.dumps(body).encode() if body else None,
            headers={"Authorization": "Basic " + b64encode(f"{self.user}:{self.password}".encode()).decode(),
                     # with no body, a JSON content type makes the API refuse a DELETE
                     **({"Content-Type": "application/json"} if body else {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            exc.msg = f"{exc.msg}: {method} {path}: {exc.read()[:500]!r}"  # what the API said, in the failure
            raise

    def wait_for(self, what: str, probe, timeout: float, every: float = 2.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for proc in self.processes:
                assert proc.poll() is None, f"an Airflow process exited early; see {self.artifacts}"
            try:
                last = probe()
                if last:
                    return last
            except (OSError, ValueError) as exc:  # not up yet
                last = exc
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")

    def dag_is_active(self, dag_id: str) -> bool:
        try:
            return self.api(f"dags/{dag_id}")["is_active"]
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):  # no use waiting: the credentials are wrong
                raise AssertionError(f"the webserver refused user {self.user}: {exc}") from None
            raise

    def runs(self, dag_id: str) -> list[dict]:
        return self.api(f"dags/{dag_id}/dagRuns?order_by=-execution_date&limit=100")["dag_runs"]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        try:
            self.api(f"dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}", method="DELETE")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _set_password(user: str, password: str) -> None:
    from airflow.utils.session import create_session
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    with create_session() as session:
        session.execute(text("UPDATE ab_user SET password = :p, active = true WHERE username = :u"),
                        {"p": generate_password_hash(password), "u": user})


def fail_stale_runs(dag_id: str) -> None:
    """A run left 'running' by an interrupted earlier test would hold max_active_runs=1."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.dag_id == dag_id,
                                                DagRun.state.in_([DagRunState.RUNNING, DagRunState.QUEUED])):
            run.state = DagRunState.FAILED


@contextmanager
def running_airflow(artifacts: Path, *, user: str, dags: Path, plugins: Path, logs: Path, wait_for_dag: str,
                    port: int | None = None, extra_env: Mapping[str, str] | None = None,
                    while_starting: Callable[[], None] | None = None) -> Iterator[Airflow]:
    """Starts both, waits for a healthy scheduler and for `wait_for_dag` to be parsed, yields,
    stops. The user is an Admin with a random password (basic auth on the REST API).
    `while_starting` runs while the two boot (a test's own setup, to overlap the wait)."""
    port = port or free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Only the runs the test triggers: no scheduled run of "today" waiting 6 h for a manifest.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__PARALLELISM": "3",
        "AIRFLOW__WEBSERVER__WORKERS": "1",
        "AIRFLOW__WEBSERVER__WORKER_REFRESH_BATCH_SIZE": "0",
        "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
        "AIRFLOW__WEBSERVER__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.session,airflow.api.auth.backend.basic_auth",
        "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_hex(16),
        **(extra_env or {}),
    }
    af = Airflow(env, artifacts, user, port)
    # A user who once wrote a run or task note cannot be deleted (the notes point at it), and
    # `users create` of an existing name "succeeds" keeping the old password (and Airflow 2.11's
    # `users reset-password` crashes): a known user gets its new password written directly.
    created = af.cli("users", "create", "--username", user, f"--password={af.password}", "--role", "Admin",
                     "--email", f"{user}@tokyobeta.invalid", "--firstname", "Test", "--lastname", "User")
    if "already exist" in created.stdout + created.stderr:
        _set_password(user, af.password)
        af.cli("users", "add-role", "--username", user, "--role", "Admin", check=False)  # refused if it has it
    try:
        af.start("scheduler", "scheduler")
        af.start("webserver", "webserver", "--port", str(port), "--hostname", "127.0.0.1")
        if while_starting is not None:
            while_starting()
        af.wait_for("the webserver and a healthy scheduler", lambda: json.loads(urllib.request.urlopen(
            f"{af.base}/health", timeout=5).read())["scheduler"]["status"] == "healthy", timeout=180)
        af.wait_for(f"{wait_for_dag} to be parsed", lambda: af.dag_is_active(wait_for_dag), timeout=180)
        yield af
    finally:
        af.stop()
