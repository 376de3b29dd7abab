"""Prometheus Alertmanager's webhook (version 4) and Grafana's alerting webhook, which is the
same shape with extra fields: values, dashboard, panel, silence and image URLs.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/"""

from __future__ import annotations

from typing import Any

from . import (
    MAX_ALERTS_PER_REQUEST,
    AlertEvent,
    PayloadInvalid,
    Problems,
    digest,
    identity_of,
    link,
    type_name,
)

STATUSES = ("firing", "resolved")
GRAFANA_LINKS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"),
                 ("silenceURL", "Silence"), ("imageURL", "Image"))


def parse(body: Any, *, grafana: bool = False) -> list[AlertEvent]:
    problems = Problems()
    if not isinstance(body, dict):
        raise PayloadInvalid([f"body: must be a JSON object, not {type_name(body)}"])
    version = body.get("version")
    if not grafana and version is not None and version != "4":
        problems.add("version", f"“{version}” is not supported; Alertmanager sends version 4")
    problems.string(body, "status", "", required=True, choices=STATUSES)
    group_key = problems.string(body, "groupKey", "")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        problems.add("alerts", "must be a non-empty list")
        raise PayloadInvalid(problems)
    if len(alerts) > MAX_ALERTS_PER_REQUEST:
        problems.add("alerts", f"has more than {MAX_ALERTS_PER_REQUEST} alerts")
        raise PayloadInvalid(problems)
    events = [_alert(item, f"alerts[{index}]", group_key, grafana, problems)
              for index, item in enumerate(alerts)]
    if problems:
        raise PayloadInvalid(problems)
    return events


def _alert(item: Any, path: str, group_key: str, grafana: bool, problems: Problems):
    if not isinstance(item, dict):
        problems.add(path, f"must be an object, not {type_name(item)}")
        return None
    status = problems.string(item, "status", path, required=True, choices=STATUSES)
    labels = problems.string_map(item, "labels", path, required=True)
    annotations = problems.string_map(item, "annotations", path)
    starts_at = problems.timestamp(item, "startsAt", path, required=True)
    # A firing alert's endsAt is Alertmanager's resolve timeout (in the future); only a
    # resolved alert's end time is a fact worth bounding.
    ends_at = problems.timestamp(item, "endsAt", path, bounded=status == "resolved")
    fingerprint = problems.string(item, "fingerprint", path, max_length=200)
    generator_url = problems.string(item, "generatorURL", path, max_length=2000)
    links = link(generator_url, "Source")
    values: dict[str, Any] = {}
    if grafana:
        raw_values = item.get("values")
        if raw_values is not None and not isinstance(raw_values, dict):
            problems.add(f"{path}.values", f"must be an object, not {type_name(raw_values)}")
        elif raw_values:
            for name, value in raw_values.items():
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, int | float)):
                    problems.add(f"{path}.values.{name}", "must be a number or null")
            values = dict(raw_values)
        for key, text in GRAFANA_LINKS:
            links += link(problems.string(item, key, path, max_length=2000), text)
    title = annotations.get("summary") or labels.get("alertname") or "Alert"
    return AlertEvent(
        identity=identity_of(fingerprint or "labels:" + digest(labels)),
        status=status,
        title=title[:300],
        labels=labels,
        annotations=annotations,
        values=values,
        details={"valueString": item["valueString"]} if isinstance(item.get("valueString"), str)
        else {},
        links=links,
        starts_at=starts_at,
        ends_at=ends_at,
        group_key=group_key,
        payload=item,
    )
