"""`tokyobeta backfill --target mwaa`: the Airflow REST API through `mwaa.invoke_rest_api`.

There is no local stand-in for MWAA, so the MWAA client is a real boto3 client whose answers
come from botocore's Stubber; the Stubber also checks every request's exact shape (Name, Path,
Method, QueryParameters, Body). STS is real: the moto server answers get_caller_identity with
its account 123456789012, and a different configured account must be refused before any MWAA
call is made (the Stubber raises on any call it was not given an answer for).
"""

from __future__ import annotations

from datetime import date

import boto3
import pytest
from botocore.stub import Stubber

from tokyobeta.ops import backfill as bf
from tokyobeta.ops.backfill import LoadRecord, ManifestState

ENV = "tokyobeta-prod"
CRON = "0 2 * * *"
MOTO_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
DAYS = [date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20)]
VALID, VALID_RACED, FAILED, QUARANTINED, MISSING = DAYS
SHA = "c" * 64
DAGS = f"/dags/{bf.DAG_ID}"


@pytest.fixture(scope="module")
def sts():
    from tokyobeta.io import aws

    return aws.client("sts", "aws_default")  # the moto server, through the Airflow connection


@pytest.fixture
def mwaa():
    client = boto3.client("mwaa", region_name="ap-northeast-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber


def ok(stubber, path, method, body, *, query=None, request_body=None):
    expected = {"Name": ENV, "Path": path, "Method": method}
    if query is not None:
        expected["QueryParameters"] = query
    if request_body is not None:
        expected["Body"] = request_body
    stubber.add_response("invoke_rest_api", {"RestApiStatusCode": 200, "RestApiResponse": body}, expected)


def api_error(stubber, status, body, path, method, request_body):
    code = "RestApiClientException" if status < 500 else "RestApiServerException"
    stubber.add_client_error("invoke_rest_api", service_error_code=code, http_status_code=400 if status < 500 else 500,
                             modeled_fields={"RestApiStatusCode": status, "RestApiResponse": body},
                             expected_params={"Name": ENV, "Path": path, "Method": method, "Body": request_body})


def trigger_body(day):
    return {"dag_run_id": bf.run_id_for(day), "logical_date": bf.slot_for(day, CRON).isoformat(),
            "conf": {"dump_date": day.isoformat()}, "note": "triggered by tokyobeta backfill"}


def test_a_caller_of_another_account_is_refused_before_any_mwaa_call(sts, mwaa):
    client, stubber = mwaa  # no answers queued: any MWAA call would raise UnStubbedResponseError
    with pytest.raises(bf.BackfillRefused) as exc:
        bf.mwaa_api(sts, client, ENV, OTHER_ACCOUNT)
    assert f"belong to account {MOTO_ACCOUNT}, not to DEPLOY_ACCOUNT_ID {OTHER_ACCOUNT}" in str(exc.value)
    with pytest.raises(bf.BackfillRefused, match="DEPLOY_ACCOUNT_ID is empty"):
        bf.mwaa_api(sts, client, ENV, "")
    with pytest.raises(bf.BackfillInputError, match="--mwaa-env"):
        bf.mwaa_api(sts, client, "", MOTO_ACCOUNT)
    stubber.assert_no_pending_responses()


def test_the_command_refuses_another_account_and_says_so(monkeypatch, capsys):
    from tokyobeta import cli

    monkeypatch.setenv("DEPLOY_ACCOUNT_ID", OTHER_ACCOUNT)
    code = cli.main(["backfill", "--start", "2026-02-16", "--end", "2026-02-20", "--target", "mwaa",
                     "--mwaa-env", ENV])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert "refused, nothing was triggered" in out.err and f"account {MOTO_ACCOUNT}" in out.err
    assert "AWS_PROFILE" in out.err  # what to do about it


def test_plan_and_act_through_invoke_rest_api(sts, mwaa):
    client, stubber = mwaa
    api = bf.mwaa_api(sts, client, ENV, MOTO_ACCOUNT)
    failed_run = "scheduled__2026-02-17T17:00:00+00:00"

    ok(stubber, DAGS, "GET", {"dag_id": bf.DAG_ID, "is_paused": False, "is_active": True})
    ok(stubber, f"{DAGS}/dagRuns", "GET", {"dag_runs": [
        {"dag_run_id": failed_run, "state": "failed", "logical_date": "2026-02-17T17:00:00+00:00",
         "execution_date": "2026-02-17T17:00:00+00:00", "conf": {}, "run_type": "scheduled"},
    ], "total_entries": 1}, query={"execution_date_gte": "2026-02-15T17:00:00+00:00", "order_by": "execution_date",
                                   "limit": 100, "offset": 0})
    ok(stubber, f"{DAGS}/dagRuns", "POST", {"dag_run_id": bf.run_id_for(VALID), "state": "queued"},
       request_body=trigger_body(VALID))
    # Someone triggered the day between our look and our trigger: the API says 409.
    api_error(stubber, 409, {"title": "Conflict", "detail": "DAGRun already exists", "status": 409},
              f"{DAGS}/dagRuns", "POST", trigger_body(VALID_RACED))
    ok(stubber, f"{DAGS}/clearTaskInstances", "POST",
       {"task_instances": [{"task_id": "load_staging"}, {"task_id": "enrich"}]},
       request_body={"dry_run": False, "dag_run_id": failed_run, "only_failed": True, "reset_dag_runs": True})

    manifests = {d: ManifestState("valid", SHA) for d in (VALID, VALID_RACED, FAILED)}
    manifests[QUARANTINED] = ManifestState("quarantined", SHA, ("INVALID_SOURCE",))
    manifests[MISSING] = ManifestState("missing")
    report = bf.run_backfill(api, target="mwaa", dag_id=bf.DAG_ID, cron=CRON, days=DAYS, manifests=manifests,
                             history={FAILED: [LoadRecord("failed", SHA, failed_run)]}, rerun_failed=True)
    stubber.assert_no_pending_responses()

    assert [d.action for d in report.days] == [bf.TRIGGER, bf.TRIGGER, bf.RERUN_FAILED, bf.SKIP_QUARANTINED,
                                               bf.SKIP_MISSING]
    outcomes = [d.outcome for d in report.days]
    assert outcomes[0] == f"triggered {bf.run_id_for(VALID)}"
    assert outcomes[1].startswith("already exists") and report.days[1].ok
    assert outcomes[2] == f"cleared 2 task(s) of {failed_run}"
    assert report.exit_code == 0 and report.where == f"MWAA environment {ENV}"
    text = bf.render(report)
    assert "MWAA, checks no SLA" in text and "actions: 3 ok, 0 failed" in text


def test_a_failed_trigger_makes_the_exit_code_non_zero(sts, mwaa):
    client, stubber = mwaa
    api = bf.mwaa_api(sts, client, ENV, MOTO_ACCOUNT)
    ok(stubber, DAGS, "GET", {"dag_id": bf.DAG_ID, "is_paused": True})
    ok(stubber, f"{DAGS}/dagRuns", "GET", {"dag_runs": [], "total_entries": 0},
       query={"execution_date_gte": "2026-02-15T17:00:00+00:00", "order_by": "execution_date", "limit": 100,
              "offset": 0})
    api_error(stubber, 500, {"title": "Internal Server Error", "status": 500}, f"{DAGS}/dagRuns", "POST",
              trigger_body(VALID))
    report = bf.run_backfill(api, target="mwaa", dag_id=bf.DAG_ID, cron=CRON, days=[VALID],
                             manifests={VALID: ManifestState("valid", SHA)}, history={})
    stubber.assert_no_pending_responses()
    assert report.exit_code == 1
    assert report.days[0].outcome == "FAILED trigger: HTTP 500 (Internal Server Error)"
    assert any("is paused" in note for note in report.notes)


def test_a_dag_the_environment_does_not_know_is_refused(sts, mwaa):
    client, stubber = mwaa
    api = bf.mwaa_api(sts, client, ENV, MOTO_ACCOUNT)
    stubber.add_client_error("invoke_rest_api", service_error_code="RestApiClientException", http_status_code=400,
                             modeled_fields={"RestApiStatusCode": 404, "RestApiResponse": {"title": "DAG not found"}})
    with pytest.raises(bf.BackfillRefused, match=f"MWAA environment {ENV} does not know DAG {bf.DAG_ID}"):
        bf.run_backfill(api, target="mwaa", dag_id=bf.DAG_ID, cron=CRON, days=[VALID],
                        manifests={VALID: ManifestState("valid", SHA)}, history={})
