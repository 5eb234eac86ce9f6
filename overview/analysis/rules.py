"""The rules analyzer: what a sales manager would conclude, without an LLM.

It answers when no model is reachable and is the embedded default. Its rules
are deliberately few and predictable: a user should be able to guess what a
change will produce.
"""

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from overview.analysis.schema import (
    AddActionItem,
    Analysis,
    ForecastImpact,
    Insight,
    NotificationDraft,
    RemoveActionItem,
)
from overview.changes import Changes, EntityChange

# A new deal at least this large is worth a notification of its own.
LARGE_DEAL = Decimal("50000")
# A value that moves by this share, or a probability by these points, is marked.
VALUE_SHIFT = Decimal("0.2")
PROBABILITY_SHIFT = 20
# A health score that drops this far, or below the floor, is a warning sign.
HEALTH_DROP = 20
HEALTH_FLOOR = 40

OPEN_STAGES = ["lead", "qualified", "proposal", "negotiation"]
LEVELS = {"low": 0, "medium": 1, "high": 2}


def money(value: Any, currency: Any = "") -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.0f}" if amount == amount.to_integral() else f"{amount:,.2f}"
    return f"{text} {currency}".strip()


def when(moment: Any) -> str:
    """A start time as a person reads it: "on Wed 9 Dec at 13:00 UTC"."""
    try:
        parsed = datetime.datetime.fromisoformat(str(moment))
    except ValueError:
        return f"at {moment}"
    parsed = parsed.astimezone(datetime.UTC)
    return f"on {parsed:%a} {parsed.day} {parsed:%b} at {parsed:%H:%M} UTC"


def stage_name(stage: Any) -> str:
    return str(stage).replace("_", " ")


class Findings:
    """What the rules found, gathered in the order the rules ran."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.items: list[AddActionItem | RemoveActionItem] = []
        self.notifications: list[NotificationDraft] = []
        self.insights: list[Insight] = []

    def forecast(self, reason: str) -> None:
        self.reasons.append(reason)

    def notify(self, kind: Any, priority: Any, title: str, message: str) -> None:
        self.notifications.append(
            NotificationDraft(
                type=kind, priority=priority, title=title[:200], message=message[:2000]
            )
        )

    def add(self, icon: str, title: str, item_type: Any) -> None:
        self.items.append(
            AddActionItem(
                action="add", icon=icon, title=title[:200], item_type=item_type
            )
        )

    def retire(self, pattern: str) -> None:
        if len(pattern) >= 3:
            self.items.append(RemoveActionItem(action="remove", pattern=pattern[:200]))

    def insight(self, change: EntityChange, text: str) -> None:
        self.insights.append(
            Insight(
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                insight=text[:1000],
            )
        )

    def analysis(self) -> Analysis:
        if self.reasons:
            impact = ForecastImpact(
                should_update=True, reason="; ".join(self.reasons)[:500]
            )
        else:
            impact = ForecastImpact(
                should_update=False, reason="No deal changed in a way that moves it."
            )
        return Analysis(
            forecast_impact=impact,
            action_items=self.items,
            notifications=self.notifications,
            insights=self.insights,
        )


def _deal(change: EntityChange, found: Findings) -> None:
    fields = change.fields
    title = change.label
    value = money(fields["value"], fields["currency"])
    stage = fields["stage"]

    if change.change_type == "deleted":
        found.forecast(f"{title} was removed")
        found.notify(
            "deal_update",
            "low",
            f"Deal removed: {title}",
            f"{title} ({value}) was deleted.",
        )
        found.retire(title)
        return

    if change.change_type == "new":
        found.forecast(f"new deal {title}")
        if stage == "closed_won":
            found.notify(
                "deal_update",
                "high",
                f"Deal won: {title}",
                f"{title} was added as won, worth {value}.",
            )
        elif Decimal(str(fields["value"])) >= LARGE_DEAL and stage != "closed_lost":
            found.notify(
                "deal_update",
                "high",
                f"New large deal: {title}",
                f"{title} ({fields['company'] or 'no company'}) entered the "
                f"pipeline at {stage_name(stage)}, worth {value}.",
            )
            found.add("target", f"Qualify new deal: {title}", "suggestion")
        return

    if change.changed("stage"):
        old = change.old("stage")
        if stage == "closed_won":
            found.forecast(f"{title} closed won")
            found.notify(
                "deal_update",
                "high",
                f"Deal won: {title}",
                f"{title} closed won at {value}.",
            )
            found.retire(title)
        elif stage == "closed_lost":
            found.forecast(f"{title} closed lost")
            found.notify(
                "deal_update",
                "medium",
                f"Deal lost: {title}",
                f"{title} ({value}) was lost at {stage_name(old)}.",
            )
            found.retire(title)
        elif old in OPEN_STAGES and OPEN_STAGES.index(stage) < OPEN_STAGES.index(old):
            found.forecast(f"{title} slipped back to {stage_name(stage)}")
            found.notify(
                "at_risk_alert",
                "medium",
                f"Deal slipped: {title}",
                f"{title} moved back from {stage_name(old)} to {stage_name(stage)}.",
            )
            found.add("alert-triangle", f"Review slipping deal: {title}", "warning")
            found.insight(
                change,
                f"{title} went backwards in the pipeline; the forecast now "
                f"counts it at {fields['probability']}%.",
            )
        else:
            found.forecast(f"{title} moved to {stage_name(stage)}")
            found.notify(
                "deal_update",
                "medium",
                f"{title} moved to {stage_name(stage)}",
                f"{title} ({value}) moved from {stage_name(old)} "
                f"to {stage_name(stage)}.",
            )
            if stage == "negotiation":
                found.add(
                    "file-signature", f"Prepare the contract for: {title}", "task"
                )
        return

    if change.changed("value"):
        old_value = Decimal(str(change.old("value") or 0))
        new_value = Decimal(str(fields["value"]))
        if old_value == 0 or abs(new_value - old_value) / old_value >= VALUE_SHIFT:
            found.forecast(f"{title} value changed")
            found.notify(
                "deal_update",
                "medium",
                f"{title}: value {money(old_value)} -> {money(new_value)}",
                f"The value of {title} changed from "
                f"{money(old_value, fields['currency'])} to {value}.",
            )
    if change.changed("probability"):
        old_probability = int(change.old("probability") or 0)
        if abs(int(fields["probability"]) - old_probability) >= PROBABILITY_SHIFT:
            found.forecast(f"{title} probability changed")
            found.notify(
                "deal_update",
                "low",
                f"{title}: probability {old_probability}% -> {fields['probability']}%",
                f"The chance of closing {title} is now {fields['probability']}%.",
            )
    if change.changed("expected_close_date") and stage not in (
        "closed_won",
        "closed_lost",
    ):
        old_date, new_date = (
            change.old("expected_close_date"),
            fields["expected_close_date"],
        )
        if old_date and new_date and new_date > old_date:
            found.forecast(f"{title} expected to close later")
            found.notify(
                "deal_update",
                "low",
                f"Close date pushed: {title}",
                f"{title} is now expected to close on {new_date} "
                f"instead of {old_date}.",
            )


def _contact(change: EntityChange, found: Findings) -> None:
    fields = change.fields
    name = change.label
    follow_up = f"Follow up with at-risk contact: {name}"
    if change.change_type == "deleted":
        found.retire(follow_up)
        return

    old_risk = (
        LEVELS.get(change.old("churn_risk"), 0) if change.change_type != "new" else -1
    )
    risk = LEVELS.get(fields["churn_risk"], 0)
    old_health = change.old("health_score")
    health = int(fields["health_score"])

    risk_rose = risk == LEVELS["high"] and old_risk < risk
    health_fell = (
        change.changed("health_score")
        and old_health is not None
        and int(old_health) - health >= HEALTH_DROP
    ) or (
        change.changed("health_score")
        and old_health is not None
        and health < HEALTH_FLOOR <= int(old_health)
    )

    if risk_rose or health_fell:
        company = f" ({fields['company']})" if fields["company"] else ""
        if risk_rose:
            detail = "churn risk rose to high"
        else:
            detail = f"health fell from {old_health} to {health}"
        found.notify(
            "at_risk_alert",
            "high" if risk_rose else "medium",
            f"{name} is at risk",
            f"{name}{company}: {detail}.",
        )
        found.add("alert-triangle", follow_up, "warning")
        found.insight(
            change, f"{name}'s {detail}; reach out before the relationship cools."
        )
    elif (
        change.changed("churn_risk") and old_risk == LEVELS["high"] and risk < old_risk
    ):
        found.retire(follow_up)
        found.notify(
            "ai_insight",
            "low",
            f"{name} is no longer at high risk",
            f"{name}'s churn risk fell to {fields['churn_risk']}.",
        )


def _event(change: EntityChange, found: Findings, now: datetime.datetime) -> None:
    fields = change.fields
    title = change.label
    kind = str(fields["type"]).replace("_", "-")
    if change.change_type == "deleted":
        found.retire(title)
        return

    status = fields["status"]
    if change.changed("status") or change.change_type == "new":
        if status == "cancelled":
            found.notify(
                "task_due",
                "medium",
                f"Cancelled: {title}",
                f"The {kind} {title} was cancelled.",
            )
            found.add("calendar-x", f"Reschedule {title}", "task")
            return
        if status == "completed" and change.change_type != "new":
            found.retire(f"Prepare for {title}")
            found.retire(f"Reschedule {title}")
            if fields["type"] in ("meeting", "demo"):
                found.add("mail", f"Send a follow-up after {title}", "task")
            return
    if status == "rescheduled" or (
        change.changed("start_time") and status == "scheduled"
    ):
        found.notify(
            "task_due",
            "low",
            f"Rescheduled: {title}",
            f"The {kind} {title} now starts {when(fields['start_time'])}.",
        )
        found.retire(f"Reschedule {title}")
        return
    if change.change_type == "new" and status == "scheduled":
        start = datetime.datetime.fromisoformat(fields["start_time"])
        if now <= start <= now + datetime.timedelta(days=2):
            found.notify(
                "task_due",
                "medium",
                f"Coming up: {title}",
                f"The {kind} {title} starts {when(fields['start_time'])}.",
            )
            found.add("calendar", f"Prepare for {title}", "task")


class RulesAnalyzer:
    name = "rules"
    model = ""

    def analyze(self, changes: Changes) -> Analysis:
        if not changes.has_changes:
            return Analysis.nothing()
        found = Findings()
        for change in changes.deals:
            _deal(change, found)
        for change in changes.contacts:
            _contact(change, found)
        for change in changes.events:
            _event(change, found, changes.until)
        return found.analysis()
