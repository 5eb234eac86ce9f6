"""What detection hands to analysis: the changes in one run's window."""

import datetime
from dataclasses import dataclass, field
from typing import Any, Literal

from crm.forecast import Forecast

EntityType = Literal["contact", "deal", "event"]
ChangeType = Literal["new", "updated", "deleted"]

# The observer names a user configures, and the entity type each one yields.
OBSERVER_ENTITY: dict[str, EntityType] = {
    "contacts": "contact",
    "deals": "deal",
    "events": "event",
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class EntityChange:
    entity_type: EntityType
    entity_id: str
    change_type: ChangeType
    label: str
    # The entity's tracked fields now, JSON-ready; these become its snapshot.
    fields: dict[str, Any]
    # Field by field, what moved since the analysis last saw it. Empty for a
    # new entity and for one the analysis never saw.
    diff: tuple[FieldChange, ...]
    updated_at: datetime.datetime

    def old(self, name: str) -> Any:
        for change in self.diff:
            if change.field == name:
                return change.old
        return self.fields.get(name)

    def changed(self, name: str) -> bool:
        return any(change.field == name for change in self.diff)


@dataclass(frozen=True)
class Changes:
    since: datetime.datetime
    until: datetime.datetime
    forecast: Forecast
    contacts: list[EntityChange] = field(default_factory=list)
    deals: list[EntityChange] = field(default_factory=list)
    events: list[EntityChange] = field(default_factory=list)
    # The true number of changes per observer, which may exceed what the
    # lists hold when detection capped them.
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def all(self) -> list[EntityChange]:
        return [*self.deals, *self.contacts, *self.events]

    @property
    def has_changes(self) -> bool:
        return any(self.totals.values())

    @property
    def omitted(self) -> int:
        return sum(self.totals.values()) - len(self.all)

    def find(self, entity_type: str, entity_id: str) -> EntityChange | None:
        for change in self.all:
            if change.entity_type == entity_type and change.entity_id == entity_id:
                return change
        return None

    def counts(self) -> dict[str, dict[str, int]]:
        """Changes by observer and by change type, for the run's record."""
        by_type: dict[str, dict[str, int]] = {}
        for observer, changes in (
            ("contacts", self.contacts),
            ("deals", self.deals),
            ("events", self.events),
        ):
            tally = {"new": 0, "updated": 0, "deleted": 0}
            for change in changes:
                tally[change.change_type] += 1
            by_type[observer] = tally
        return {"total": dict(self.totals), **by_type}
