"""The shape of an analysis, and the check every analysis passes before it acts.

An analysis from the LLM is untrusted input. ``validate_analysis`` keeps each
item that fits the schema and names only entities of this run's change set, and
drops the rest with a warning, so one bad line never costs the good ones.
"""

import logging
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from overview.changes import Changes

logger = logging.getLogger(__name__)
T = TypeVar("T")

NotificationKind = Literal["deal_update", "ai_insight", "at_risk_alert", "task_due"]
PriorityLevel = Literal["high", "medium", "low"]
ItemKind = Literal["suggestion", "warning", "task"]
InsightEntity = Literal["contact", "deal", "event"]

MIN_PATTERN = 3


class Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ForecastImpact(Strict):
    should_update: bool = False
    reason: str = Field(default="", max_length=500)


class AddActionItem(Strict):
    action: Literal["add"]
    icon: str = Field(default="sparkles", pattern=r"^[a-z0-9_-]{1,40}$")
    title: str = Field(min_length=3, max_length=200)
    item_type: ItemKind = "suggestion"


class RemoveActionItem(Strict):
    action: Literal["remove"]
    pattern: str = Field(min_length=MIN_PATTERN, max_length=200)


ActionItemChange = Annotated[
    AddActionItem | RemoveActionItem, Field(discriminator="action")
]


class NotificationDraft(Strict):
    type: NotificationKind
    priority: PriorityLevel = "medium"
    title: str = Field(min_length=1, max_length=200)
    message: str = Field(default="", max_length=2000)


class Insight(Strict):
    entity_type: InsightEntity
    entity_id: str = Field(max_length=64)
    insight: str = Field(min_length=1, max_length=1000)

    @field_validator("entity_type", mode="before")
    @classmethod
    def singular(cls, value: Any) -> Any:
        # Models often answer with the observer's plural name.
        if isinstance(value, str) and value.rstrip("s") in ("contact", "deal", "event"):
            return value.rstrip("s")
        return value


class Analysis(Strict):
    forecast_impact: ForecastImpact = Field(default_factory=ForecastImpact)
    action_items: list[ActionItemChange] = Field(default_factory=list)
    notifications: list[NotificationDraft] = Field(default_factory=list)
    insights: list[Insight] = Field(default_factory=list)

    @classmethod
    def nothing(cls, reason: str = "No changes detected") -> "Analysis":
        return cls(forecast_impact=ForecastImpact(should_update=False, reason=reason))

    @property
    def additions(self) -> list[AddActionItem]:
        return [item for item in self.action_items if isinstance(item, AddActionItem)]

    @property
    def removals(self) -> list[RemoveActionItem]:
        return [
            item for item in self.action_items if isinstance(item, RemoveActionItem)
        ]


def json_schema() -> dict[str, Any]:
    """The schema handed to Ollama's ``format`` parameter."""
    return Analysis.model_json_schema()


class InvalidAnalysis(ValueError):
    """The reply as a whole cannot be read as an analysis."""


def _keep_valid(items: Any, adapter: TypeAdapter[T], section: str) -> list[T]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidAnalysis(f"{section} must be a list, not {type(items).__name__}")
    kept = []
    for position, item in enumerate(items):
        try:
            kept.append(adapter.validate_python(item))
        except ValidationError as error:
            logger.warning(
                "Dropped %s[%d] from the analysis: %s",
                section,
                position,
                "; ".join(
                    "{}: {}".format(".".join(map(str, e["loc"])) or "item", e["msg"])
                    for e in error.errors()
                ),
            )
    return kept


def validate_analysis(raw: Any, changes: Changes) -> Analysis:
    """Build an Analysis from ``raw``, dropping every item that does not fit.

    Raises InvalidAnalysis when ``raw`` is not an analysis at all (not an
    object, or a section of the wrong kind), so that the caller can ask again.
    """
    if not isinstance(raw, dict):
        raise InvalidAnalysis(
            f"the analysis must be a JSON object, not {type(raw).__name__}"
        )
    if not any(key in raw for key in Analysis.model_fields):
        raise InvalidAnalysis(
            "the reply has none of the sections " + ", ".join(Analysis.model_fields)
        )

    try:
        impact = ForecastImpact.model_validate(raw.get("forecast_impact") or {})
    except ValidationError as error:
        raise InvalidAnalysis(f"forecast_impact: {error.errors()[0]['msg']}") from error

    action_items = _keep_valid(
        raw.get("action_items"), TypeAdapter(ActionItemChange), "action_items"
    )
    notifications = _keep_valid(
        raw.get("notifications"), TypeAdapter(NotificationDraft), "notifications"
    )
    insights = []
    for insight in _keep_valid(raw.get("insights"), TypeAdapter(Insight), "insights"):
        if changes.find(insight.entity_type, insight.entity_id) is None:
            logger.warning(
                "Dropped an insight about %s %s, which is not in this run's changes",
                insight.entity_type,
                insight.entity_id,
            )
            continue
        insights.append(insight)

    return Analysis(
        forecast_impact=impact,
        action_items=action_items,
        notifications=notifications,
        insights=insights,
    )
