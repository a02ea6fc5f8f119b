"""CloudWatch metrics of the pipeline: names, dimensions and publishing. Every metric named here
has an alarm in deploy/cloudwatch-alarms.yaml (tests/unit/test_alarm_template.py holds the two
together), and those alarms treat missing data as breaching: silence pages someone."""

from __future__ import annotations

from dataclasses import dataclass
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

STALENESS_DAYS = "StalenessDays"            # dimension Table=<layer>.<table>
UPSTREAM_AGE_HOURS = "UpstreamAgeHours"
HOURS_SINCE_LAST_SUCCESS = "HoursSinceLastSuccess"
HEARTBEAT = "Heartbeat"                     # dimension Dag=<dag_id>, 1 per run

# DAGs that publish a heartbeat at the start of every run (tests/dags checks the DAGs agree).
HEARTBEAT_DAGS = ("tokyobeta_daily_etl", "tokyobeta_freshness", "gghouse_dump_publish")

_BATCH = 20  # PutMetricData's per-call limit in older regions/SDKs; small enough everywhere

MetricKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Datum:
    name: str
    value: float
    unit: str = "None"
    dimensions: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> MetricKey:
        return self.name, self.dimensions


def heartbeat(dag_id: str) -> Datum:
    return Datum(HEARTBEAT, 1.0, "Count", (("Dag", dag_id),))


def heartbeat_keys() -> set[MetricKey]:
    return {heartbeat(dag_id).key for dag_id in HEARTBEAT_DAGS}


def put(cloudwatch: Any, namespace: str, data: Iterable[Datum], timestamp: datetime) -> int:
    items = [{
        "MetricName": d.name,
        "Value": float(d.value),
        "Unit": d.unit,
        "Timestamp": timestamp,
        "Dimensions": [{"Name": k, "Value": v} for k, v in d.dimensions],
    } for d in data]
    for start in range(0, len(items), _BATCH):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=items[start:start + _BATCH])
    return len(items)


def newest_values(cloudwatch: Any, namespace: str, since: datetime) -> list[tuple[str, tuple[tuple[str, str], ...], datetime, float]]:
    """(name, dimensions, period start, Maximum) of the newest datapoint of every metric in the
    namespace since `since`; periods are as short as CloudWatch's 1,440-datapoint limit allows."""
    end = datetime.now(timezone.utc) + timedelta(hours=1)
    period = max(60, math.ceil((end - since).total_seconds() / 1440 / 60) * 60)
    rows = {}
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page.get("Metrics", []):
            dims = tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            if (metric["MetricName"], dims) in rows:  # moto lists a dimensionless metric once per datum
                continue
            points = cloudwatch.get_metric_statistics(
                Namespace=namespace, MetricName=metric["MetricName"], Dimensions=metric.get("Dimensions", []),
                StartTime=since, EndTime=end, Period=period, Statistics=["Maximum"])["Datapoints"]
            if points:
                newest = max(points, key=lambda p: p["Timestamp"])
                rows[(metric["MetricName"], dims)] = (metric["MetricName"], dims, newest["Timestamp"], newest["Maximum"])
    return [rows[key] for key in sorted(rows)]
