"""Topic and topic-filter rules, checked when a flow compiles rather than refused by the broker later."""

from __future__ import annotations

SHARE_PREFIX = "$share/"


def filter_problem(topic: str) -> str | None:
    """What is wrong with a subscription filter (`+`, `#`, `$share/group/filter`), or None."""
    if topic.startswith(SHARE_PREFIX):
        group, _, rest = topic[len(SHARE_PREFIX):].partition("/")
        if not group or any(c in group for c in "+#"):
            return "a shared subscription is $share/GROUP/FILTER with a group name free of '+' and '#'"
        if not rest:
            return "a shared subscription needs a filter after the group: $share/GROUP/FILTER"
        topic = rest
    if not topic:
        return "the topic filter is empty"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level and the last one, as in 'sensors/#'"
        if "+" in level and level != "+":
            return "'+' must be a whole level, as in 'sensors/+/temperature'"
    return None


def topic_problem(topic: str) -> str | None:
    """What is wrong with a topic to publish to, or None."""
    if not topic:
        return "the topic is empty"
    if "+" in topic or "#" in topic:
        return "a topic to publish to cannot hold the wildcards '+' or '#'"
    return None
