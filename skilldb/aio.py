"""Async twins of the public operations, for ``psycopg.AsyncConnection``.

Each ``skilldb.aio.<name>`` is the ``aio`` face of the one definition behind
``skilldb.<name>`` (see :func:`skilldb._sql.operation`): the same named SQL (one
``queries/*.sql`` file serves both, through aiosql's ``apsycopg`` adapter), signature,
docstring, validation, row mapping and error translation; only the ``await`` differs.
``import skilldb`` alone makes this module available as ``skilldb.aio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skilldb import prompts as _prompts
from skilldb import ratings as _ratings
from skilldb import skill_messages as _skill_messages
from skilldb import skill_versions as _skill_versions
from skilldb import skills as _skills
from skilldb import tenants as _tenants
from skilldb import usage_events as _usage_events
from skilldb import users as _users
from skilldb._sql import load_queries
from skilldb.models import format_rating, verify_content
from skilldb.tenancy import atenant as tenant
from skilldb.workshops import aio as workshops

__all__ = [
    "create_skill",
    "create_skill_version",
    "create_tenant",
    "create_user",
    "delete_rating",
    "format_rating",
    "get_messages_for_user",
    "get_rating_with_relations",
    "get_skill",
    "get_skill_by_slug",
    "get_skill_message_with_relations",
    "get_skill_version",
    "get_skill_version_with_relations",
    "get_skill_with_relations",
    "get_tenant",
    "get_unread_count_for_user",
    "get_usage_event_with_relations",
    "get_user",
    "get_user_by_email",
    "get_user_with_relations",
    "import_prompts",
    "increment_skill_uses",
    "list_skill_versions",
    "list_skills",
    "list_skills_with_relations",
    "mark_message_read",
    "publish_version",
    "queries",
    "rate_skill",
    "recompute_skill_metrics",
    "record_usage_event",
    "record_usage_events",
    "send_skill_message",
    "set_draft_version",
    "tenant",
    "update_message_status",
    "update_skill_rating",
    "verify_content",
    "workshops",
]

create_tenant = _tenants.create_tenant.aio
get_tenant = _tenants.get_tenant.aio
create_user = _users.create_user.aio
get_user = _users.get_user.aio
get_user_by_email = _users.get_user_by_email.aio
get_user_with_relations = _users.get_user_with_relations.aio
create_skill = _skills.create_skill.aio
get_skill = _skills.get_skill.aio
get_skill_by_slug = _skills.get_skill_by_slug.aio
list_skills = _skills.list_skills.aio
publish_version = _skills.publish_version.aio
set_draft_version = _skills.set_draft_version.aio
get_skill_with_relations = _skills.get_skill_with_relations.aio
list_skills_with_relations = _skills.list_skills_with_relations.aio
create_skill_version = _skill_versions.create_skill_version.aio
get_skill_version = _skill_versions.get_skill_version.aio
list_skill_versions = _skill_versions.list_skill_versions.aio
get_skill_version_with_relations = _skill_versions.get_skill_version_with_relations.aio
get_rating_with_relations = _ratings.get_rating_with_relations.aio
get_usage_event_with_relations = _usage_events.get_usage_event_with_relations.aio
rate_skill = _ratings.rate_skill.aio
delete_rating = _ratings.delete_rating.aio
increment_skill_uses = _skills.increment_skill_uses.aio
update_skill_rating = _skills.update_skill_rating.aio
recompute_skill_metrics = _skills.recompute_skill_metrics.aio
record_usage_event = _usage_events.record_usage_event.aio
record_usage_events = _usage_events.record_usage_events.aio
get_messages_for_user = _skill_messages.get_messages_for_user.aio
get_skill_message_with_relations = _skill_messages.get_skill_message_with_relations.aio
get_unread_count_for_user = _skill_messages.get_unread_count_for_user.aio
mark_message_read = _skill_messages.mark_message_read.aio
send_skill_message = _skill_messages.send_skill_message.aio
update_message_status = _skill_messages.update_message_status.aio


if TYPE_CHECKING:
    from skilldb._raw_queries import AsyncQueries

    # for type checkers: each query's parameters and rows (``skilldb stubs`` generates them)
    queries: AsyncQueries

import_prompts = _prompts.import_prompts.aio


def __getattr__(name: str) -> Any:
    # ``skilldb.aio.queries``: the raw aiosql functions for AsyncConnection, loaded on first use
    if name == "queries":
        return load_queries("apsycopg")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
