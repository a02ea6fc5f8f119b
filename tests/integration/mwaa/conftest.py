"""Fixtures of the MWAA deployment tests: one release bundle per session, built from this
working tree exactly as `make package` builds it (dbt docs generated against the local stack)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tokyobeta.ops import release


@pytest.fixture(scope="session")
def bundle(tmp_path_factory, repo) -> Path:
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    # Named as a clean build of HEAD so deploy accepts it; the tests check what the working tree holds.
    return release.build_bundle(repo, tmp_path_factory.mktemp("dist"), release.Commit(head, dirty=False),
                                os.environ["DBT_EXECUTABLE_PATH"], dbt_env={"SCHEMA_PREFIX": ""})
