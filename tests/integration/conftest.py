"""Fixtures of the integration tests."""

from __future__ import annotations

import os

import pytest

from support.pipeline import Pipeline


@pytest.fixture(scope="module")
def pipeline(s3, sns, sqs, secretsmanager):
    from tokyobeta.io import mysql

    admin = mysql.connect(params={
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
        "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    mp = pytest.MonkeyPatch()
    try:
        yield Pipeline(mp, admin, s3, sns, sqs, secretsmanager)
    finally:
        mp.undo()
        admin.close()
