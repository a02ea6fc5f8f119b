"""deploy/cloudwatch-alarms.yaml: one alarm per metric the code publishes and no alarm on a
metric it does not, and every alarm pages on silence (cfn-lint runs on it, as on every template
under deploy/, in test_cfn_templates.py). (moto 5.0.11 cannot create AWS::CloudWatch::Alarm
from a stack, so deployment itself is not exercised locally.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tokyobeta import settings
from tokyobeta.ops import freshness, metrics

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "cloudwatch-alarms.yaml"
HOUR = 3600
# The alert topic of the environment's foundation stack (deploy/foundation.yaml exports it).
TOPIC = {"Fn::ImportValue": {"Fn::Sub": "tokyobeta-${EnvironmentName}-alert-topic-arn"}}

# Template parameter -> the settings knob whose default it must share.
PARAMETER_KNOBS = {
    "Namespace": "METRICS_NAMESPACE",
    "StalenessThresholdDays": "STALENESS_THRESHOLD_DAYS",
    "UpstreamMaxAgeHours": "UPSTREAM_MAX_AGE_HOURS",
    "MaxHoursSinceDailySuccess": "MAX_HOURS_SINCE_DAILY_SUCCESS",
}
# Metric -> (statistic, comparison, threshold) an alarm on it must use.
RULES = {
    metrics.HEARTBEAT: ("Sum", "LessThanThreshold", 1),
    metrics.STALENESS_DAYS: ("Maximum", "GreaterThanThreshold", {"Ref": "StalenessThresholdDays"}),
    metrics.UPSTREAM_AGE_HOURS: ("Maximum", "GreaterThanThreshold", {"Ref": "UpstreamMaxAgeHours"}),
    metrics.HOURS_SINCE_LAST_SUCCESS: ("Maximum", "GreaterThanThreshold", {"Ref": "MaxHoursSinceDailySuccess"}),
}


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def alarms(template) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_key(props: dict) -> metrics.MetricKey:
    return props["MetricName"], tuple((d["Name"], d["Value"]) for d in props.get("Dimensions", []))


def test_every_published_metric_has_exactly_one_alarm_and_no_alarm_is_orphaned(alarms):
    published = freshness.metric_keys() | metrics.heartbeat_keys()
    watched = [alarm_key(p) for p in alarms.values()]
    assert len(watched) == len(set(watched)), "two alarms watch the same metric"
    assert set(watched) == published


def test_every_alarm_pages_on_silence_and_on_recovery(alarms):
    for name, p in alarms.items():
        assert p["Namespace"] == {"Ref": "Namespace"}, name
        assert p["TreatMissingData"] == "breaching", name
        for actions in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            assert p[actions] == [TOPIC], (name, actions)
        window = p["Period"] * p["EvaluationPeriods"]
        # a daily metric must always have one datapoint in the window, with slack for a late run;
        # CloudWatch allows at most 7 days for periods of an hour or more
        assert 25 * HOUR <= window <= 7 * 24 * HOUR and p["Period"] >= HOUR, name
        assert p["DatapointsToAlarm"] == p["EvaluationPeriods"], f"{name}: one good datapoint must keep it OK"
        assert (p["Statistic"], p["ComparisonOperator"], p["Threshold"]) == RULES[p["MetricName"]], name


def test_parameter_defaults_equal_the_settings_defaults(template):
    knobs = {k.name: k.default for k in settings.KNOBS}
    params = template["Parameters"]
    for parameter, knob in PARAMETER_KNOBS.items():
        assert params[parameter]["Default"] == knobs[knob], parameter
    assert "AlertTopicArn" not in params, "the topic comes from the foundation stack, never typed in"
    assert "Default" not in params["EnvironmentName"], "the environment must be named, never guessed"
