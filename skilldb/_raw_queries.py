"""The run-time side of ``_raw_queries.pyi``, the types ``skilldb stubs`` generates for the raw
aiosql query functions; type checkers read the stub, not this file.

The names the stub declares import here too, so that an annotation evaluated at run time
may use them: ``SyncQueries``, ``AsyncQueries`` and their namespaces
(``SyncWorkshopsQueries``, ...) are aiosql's ``Queries`` class, of which
``skilldb.queries`` and ``skilldb.aio.queries`` are instances, and each ``...Row`` alias
is ``tuple``.
"""

from typing import Any

from aiosql.queries import Queries


def __getattr__(name: str) -> Any:
    if name.startswith(("Sync", "Async")) and name.endswith("Queries"):
        return Queries
    if name[:1].isupper() and name.endswith("Row"):
        return tuple
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
