"""skilldb.workshops: design-thinking workshops, with who may see what enforced by the database.

Act as one person, then call typed functions; each runs one named statement from
``queries/workshops/*.sql``::

    import psycopg
    from skilldb import workshops

    with psycopg.connect(url) as conn, workshops.acting_as(conn, "user_2abc"):
        w = workshops.create_workshop(conn, title="Onboarding", original_idea="Fewer drop-offs")
        workshops.complete_step(conn, w.id, "challenge", {"statement": "..."})
        full = workshops.get_workshop_with_relations(conn, w.id)

People are the auth provider's user ids (``clerk_user_id``); there is no users table.
Row-level security (migration 0020) lets members see a workshop and all its rows,
owners and editors change them, viewers only read, and only owners manage members,
visibility and deletion; a shared workshop's token opens it read-only to anyone.
``skilldb.aio.workshops`` holds the async twins (the same definitions).
"""

from skilldb.tenancy import acting_as
from skilldb.workshops.build_packs import generate_build_pack
from skilldb.workshops.models import (
    BuildPack,
    NewBuildPack,
    NewSession,
    NewStepDefinition,
    NewWorkshop,
    NewWorkshopMember,
    NewWorkshopStep,
    Session,
    StepDefinition,
    Workshop,
    WorkshopMember,
    WorkshopStep,
    WorkshopStepWithDefinition,
    WorkshopWithRelations,
)
from skilldb.workshops.sessions import end_session, start_session
from skilldb.workshops.steps import complete_step, start_step
from skilldb.workshops.workshops import (
    add_member,
    create_workshop,
    delete_workshop,
    get_workshop,
    get_workshop_by_share_token,
    get_workshop_with_relations,
    list_workshops_for_user,
    remove_member,
    set_visibility,
)

__all__ = [
    "BuildPack",
    "NewBuildPack",
    "NewSession",
    "NewStepDefinition",
    "NewWorkshop",
    "NewWorkshopMember",
    "NewWorkshopStep",
    "Session",
    "StepDefinition",
    "Workshop",
    "WorkshopMember",
    "WorkshopStep",
    "WorkshopStepWithDefinition",
    "WorkshopWithRelations",
    "acting_as",
    "add_member",
    "complete_step",
    "create_workshop",
    "delete_workshop",
    "end_session",
    "generate_build_pack",
    "get_workshop",
    "get_workshop_by_share_token",
    "get_workshop_with_relations",
    "list_workshops_for_user",
    "remove_member",
    "set_visibility",
    "start_session",
    "start_step",
]
