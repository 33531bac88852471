"""Error-spike alerting: rules as data (rules.py), pure evaluation of one window (evaluate.py),
event-time windows over an injected store (windows.py), notifications (messages.py, notify.py),
and the rule book a worker follows (rulebook.py). The Faust wiring is streams/agents/alerts.py."""

from loglane.alerts.evaluate import Alert, AlertState, RuleState, WindowCounts, evaluate, observe
from loglane.alerts.rules import Channel, Condition, ConditionKind, Group, Limits, Rule, Scope, load_rules
from loglane.alerts.windows import Engine, MemoryStore, Sighting, WindowConfig

__all__ = [
    "Alert", "AlertState", "Channel", "Condition", "ConditionKind", "Engine", "Group", "Limits", "MemoryStore",
    "Rule", "RuleState", "Scope", "Sighting", "WindowConfig", "WindowCounts", "evaluate", "load_rules", "observe",
]
