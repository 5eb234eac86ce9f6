"""Reading an analysis written in tags, for models that answer so despite the
request for JSON.

The format wraps each section in a tag and writes one item per line, its
fields separated by ``|``::

    <forecast_update_needed>true</forecast_update_needed>
    <forecast_update_reason>Acme moved to negotiation</forecast_update_reason>
    <action_items>
    ADD: phone|Call Acme about the renewal|task
    REMOVE: Prepare Acme proposal
    </action_items>
    <notifications>
    deal_update|high|Acme in negotiation|The renewal moved on.
    </notifications>
    <insights>
    deal|7f0c...|Acme doubled the renewal's value.
    </insights>

``parse_tags`` turns this into the dict the JSON answer would have been, and
leaves judging the items to ``validate_analysis``.
"""

import logging
import re
from typing import Any

from overview.analysis.schema import InvalidAnalysis

logger = logging.getLogger(__name__)

TAGS = (
    "forecast_update_needed",
    "forecast_update_reason",
    "action_items",
    "notifications",
    "insights",
)
ITEM_TYPES = ("suggestion", "warning", "task")
YES = ("true", "yes", "1")

# Models number or bullet their lines, whatever they were asked.
BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
ACTION = re.compile(r"^(add|remove)\s*:\s*(.*)$", re.IGNORECASE)


def _opening(name: str) -> re.Pattern[str]:
    return re.compile(rf"<\s*{name}\s*>", re.IGNORECASE)


def _closing(name: str) -> re.Pattern[str]:
    return re.compile(rf"<\s*/\s*{name}\s*>", re.IGNORECASE)


ANY_OPENING = re.compile(rf"<\s*(?:{'|'.join(TAGS)})\s*>", re.IGNORECASE)


def _sections(text: str) -> dict[str, str]:
    """The text inside each tag that occurs, by tag name.

    A section whose closing tag is missing ends where the next tag opens, or
    with the text.
    """
    found = {}
    for name in TAGS:
        opening = _opening(name).search(text)
        if opening is None:
            continue
        start = opening.end()
        closing = _closing(name).search(text, start)
        following = ANY_OPENING.search(text, start)
        ends = [match.start() for match in (closing, following) if match is not None]
        found[name] = text[start : min(ends, default=len(text))].strip()
    return found


def _lines(section: str) -> list[str]:
    lines = (BULLET.sub("", line.strip()).strip() for line in section.splitlines())
    return [line for line in lines if line]


def _fields(line: str, parts: int) -> list[str]:
    return [field.strip() for field in line.split("|", parts - 1)]


def _action_item(line: str) -> dict[str, Any] | None:
    match = ACTION.match(line)
    if match is None:
        return None
    verb, rest = match.group(1).lower(), match.group(2).strip()
    if verb == "remove":
        return {"action": "remove", "pattern": rest}

    fields = [field.strip() for field in rest.split("|")]
    # The format is icon|title|type; a shorter line is read as far as it goes,
    # and a longer one keeps its extra bars in the title.
    if len(fields) == 1:
        icon, title, item_type = None, fields[0], None
    elif len(fields) == 2 and fields[1].lower() in ITEM_TYPES:
        icon, title, item_type = None, fields[0], fields[1]
    elif len(fields) == 2:
        icon, title, item_type = fields[0], fields[1], None
    else:
        icon, title, item_type = fields[0], "|".join(fields[1:-1]), fields[-1]

    item: dict[str, Any] = {"action": "add", "title": title}
    if icon:
        item["icon"] = re.sub(r"\s+", "-", icon.lower())
    if item_type:
        item["item_type"] = item_type.lower()
    return item


def _notification(line: str) -> dict[str, Any] | None:
    fields = _fields(line, 4)
    if len(fields) < 3:
        return None
    kind, priority, title, *message = fields
    return {
        "type": kind.lower(),
        "priority": priority.lower(),
        "title": title,
        "message": message[0] if message else "",
    }


def _insight(line: str) -> dict[str, Any] | None:
    fields = _fields(line, 3)
    if len(fields) < 3:
        return None
    entity_type, entity_id, insight = fields
    return {
        "entity_type": entity_type.lower(),
        "entity_id": entity_id,
        "insight": insight,
    }


READERS = {
    "action_items": _action_item,
    "notifications": _notification,
    "insights": _insight,
}


def parse_tags(text: str) -> dict[str, Any]:
    """The analysis in ``text`` as a raw dict, ready for ``validate_analysis``.

    Raises InvalidAnalysis when ``text`` holds none of the tags.
    """
    sections = _sections(text)
    if not sections:
        raise InvalidAnalysis("the reply is neither JSON nor the tag format")

    needed = sections.get("forecast_update_needed", "").lower().strip(" .!")
    raw: dict[str, Any] = {
        "forecast_impact": {
            "should_update": needed in YES,
            "reason": sections.get("forecast_update_reason", ""),
        }
    }
    for name, read in READERS.items():
        items = []
        for line in _lines(sections.get(name, "")):
            item = read(line)
            if item is None:
                logger.warning("Ignored a line of %s in a tag reply: %.80r", name, line)
                continue
            items.append(item)
        raw[name] = items
    return raw
