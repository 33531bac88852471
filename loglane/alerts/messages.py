"""What each channel receives for an alert (an Alert record as fastavro reads it, or as
Alert.to_record() gives it): the generic webhook's JSON, a Slack incoming-webhook payload, an e-mail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any

PAYLOAD_VERSION = 1
_COLORS = {"P0": "#7a0000", "P1": "#d00000", "P2": "#e8912d", "P3": "#daa038"}
_RESOLVED_COLOR = "#2eb67d"


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromtimestamp(int(value) / 1000, timezone.utc)


def iso(value: Any) -> str | None:
    moment = _moment(value)
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _number(value: float) -> str:
    return f"{value:g}" if value >= 1 or value == 0 else f"{value:.3f}"


def headline(alert: Mapping[str, Any]) -> str:
    """[P1] FIRED error-storm: checkout (prod, tenant shop)"""
    return (
        f"[{alert['severity']}] {str(alert['state']).upper()} {alert['rule']}: "
        f"{alert['service']} ({alert['environment']}, tenant {alert['tenant']})"
    )


def webhook_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The generic webhook's body: the alert with ISO 8601 times, plus a version."""
    return {
        "version": PAYLOAD_VERSION,
        "alert_id": alert["alert_id"],
        "state": alert["state"],
        "rule": alert["rule"],
        "severity": alert["severity"],
        "tenant": alert["tenant"],
        "service": alert["service"],
        "environment": alert["environment"],
        "scope": alert["scope"],
        "condition": alert["condition"],
        "window_start": iso(alert["window_start"]),
        "window_end": iso(alert["window_end"]),
        "observed": alert["observed"],
        "threshold": alert["threshold"],
        "fired_at": iso(alert["fired_at"]),
        "resolved_at": iso(alert.get("resolved_at")),
        "sample_event_ids": list(alert.get("sample_event_ids") or ()),
        "summary": alert["summary"],
    }


def _fields(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    samples: Sequence[str] = alert.get("sample_event_ids") or ()
    fields = [
        ("Condition", str(alert["condition"])),
        ("Observed", _number(float(alert["observed"]))),
        ("Threshold", _number(float(alert["threshold"]))),
        ("Window", f"{iso(alert['window_start'])} to {iso(alert['window_end'])}"),
        ("Fired at", str(iso(alert["fired_at"]))),
    ]
    if alert.get("resolved_at") is not None:
        fields.append(("Resolved at", str(iso(alert["resolved_at"]))))
    if samples:
        fields.append(("Sample events", ", ".join(samples)))
    fields.append(("Alert id", str(alert["alert_id"])))
    return fields


def slack_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (text plus one attachment); Mattermost and Rocket.Chat take it too."""
    resolved = alert["state"] == "resolved"
    fired = _moment(alert.get("resolved_at") if resolved else alert["fired_at"])
    return {
        "text": f"{':white_check_mark:' if resolved else ':rotating_light:'} {headline(alert)}",
        "attachments": [{
            "color": _RESOLVED_COLOR if resolved else _COLORS.get(str(alert["severity"]), "#d00000"),
            "title": f"{alert['rule']}: {alert['service']}",
            "text": str(alert["summary"]),
            "fields": [{"title": title, "value": value, "short": len(value) < 40} for title, value in _fields(alert)],
            "footer": "loglane",
            "ts": int(fired.timestamp()) if fired else None,
        }],
    }


def email_message(alert: Mapping[str, Any], sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = headline(alert)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["X-Loglane-Alert-Id"] = str(alert["alert_id"])
    lines = [str(alert["summary"]), ""]
    lines += [f"{title}: {value}" for title, value in _fields(alert)]
    lines += ["", f"Scope of the rule: {alert['scope']}"]
    message.set_content("\n".join(lines) + "\n")
    return message
