"""A second moto server with IAM enforcement on, for proof 2 of the execution role
(tests/integration/test_execution_role_moto.py). Never the shared server on MOTO_PORT: other
checkouts' tests use that one without credentials.

Setup runs unauthenticated (moto's INITIAL_NO_AUTH_ACTION_COUNT is infinite by default); then
`enforce()` turns authentication on for every request (moto-api/reset-auth 0): from there on an
admin user (Action "*") does the test's own setup and reads, and the pipeline runs as a user
holding only the execution role's policy, as moto can see it (`moto_view`).

What moto 5.0.11 enforces, and so what `moto_view` must adapt (moto/core/responses.py,
moto/iam/access_control.py):
  - S3: the action from the HTTP method and query string, on the bucket or object ARN. HEAD of an
    object is checked as s3:HeadObject and HEAD of a bucket as s3:HeadBucket (IAM authorises
    them as s3:GetObject and s3:ListBucket), so the view grants those beside them. A CopyObject
    is checked as s3:PutObject on the destination only, tags in a write request not at all.
  - Every other service: the action on resource "*" only (so a statement scoped to the topic or
    the secret would never match) and the service name of the signature (CloudWatch signs as
    `monitoring`). The view widens their resources to "*" and renames the service.
  - Conditions are ignored: the view drops them (the namespace condition on PutMetricData).
  - Signatures are recomputed from the decoded query string: tests/support/moto_iam_server.py
    starts moto with that one check corrected (a Prefix with "/" would fail to verify).
What moto cannot see here, proof 1 (tests/support/awscalls.py) checks against the real policy.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import boto3
import requests

MOTO_SIGNING_NAMES = {"cloudwatch": "monitoring"}
MOTO_S3_ALIASES = {"s3:GetObject": "s3:HeadObject", "s3:ListBucket": "s3:HeadBucket"}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def moto_view(statements: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The statements as moto 5.0.11 evaluates them (see the module doc): same Sids, S3
    resources kept, every other resource "*", conditions dropped."""
    view = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        moto_actions: list[str] = []
        for action in actions:
            service, _, name = action.partition(":")
            moto_actions.append(f"{MOTO_SIGNING_NAMES.get(service, service)}:{name}")
            if action in MOTO_S3_ALIASES:
                moto_actions.append(MOTO_S3_ALIASES[action])
        s3_only = all(a.startswith("s3:") for a in actions) and "Resource" in statement
        view.append({"Sid": statement["Sid"], "Effect": statement["Effect"], "Action": moto_actions,
                     "Resource": copy.deepcopy(statement["Resource"]) if s3_only else "*"})
    return view


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class IamMoto:
    """A moto server of its own on a free port, started and stopped by the caller."""

    def __init__(self, log_path: Path, region: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.region = region
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")
        env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
        launcher = Path(__file__).with_name("moto_iam_server.py")
        self._process = subprocess.Popen([sys.executable, str(launcher), "127.0.0.1", str(self.port)],
                                         stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server on port {self.port} did not start; see {log_path}") from None
                time.sleep(0.2)
        self.keys: dict[str, tuple[str, str]] = {}

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()

    def client(self, service: str, user: str | None = None) -> Any:
        key, secret = self.keys[user] if user else ("setup", "setup")
        return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                     region_name=self.region).client(service, endpoint_url=self.url)

    def create_user(self, name: str, policy: Mapping[str, Any]) -> tuple[str, str]:
        iam = self.client("iam", "admin" if "admin" in self.keys else None)
        iam.create_user(UserName=name)
        self.put_policy(name, policy)
        created = iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = (created["AccessKeyId"], created["SecretAccessKey"])
        return self.keys[name]

    def put_policy(self, user: str, policy: Mapping[str, Any]) -> None:
        iam = self.client("iam", "admin" if "admin" in self.keys else None)
        iam.put_user_policy(UserName=user, PolicyName="policy", PolicyDocument=json.dumps(policy))

    def enforce(self) -> None:
        """From now on every request must be signed by a user whose policy allows it."""
        requests.post(f"{self.url}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()

    def airflow_connection(self, user: str) -> str:
        key, secret = self.keys[user]
        return json.dumps({"conn_type": "aws", "login": key, "password": secret,
                           "extra": {"region_name": self.region, "endpoint_url": self.url}})


def policy_document(statements: Sequence[Mapping[str, Any]]) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@contextmanager
def without(server: IamMoto, user: str, statements: Sequence[Mapping[str, Any]], *sids: str) -> Iterator[None]:
    """The user's policy less the statements `sids`, for the duration of the block."""
    kept = [s for s in statements if s["Sid"] not in sids]
    if len(kept) != len(statements) - len(set(sids)):
        raise KeyError(f"not every one of {', '.join(sids)} is a statement of the policy")
    server.put_policy(user, policy_document(kept))
    try:
        yield
    finally:
        server.put_policy(user, policy_document(statements))
