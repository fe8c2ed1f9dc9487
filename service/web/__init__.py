"""Browser front end of the review service: pages, scripts, styles and message catalogues.

``service.main`` includes :data:`router`; the router serves its own ``/static/`` files too, so
mounting :data:`STATIC_DIR` separately is optional.

:data:`router` and :data:`STATIC_DIR` are loaded on first use, not when the package is: modules
below the pages (``service.reject_reasons``, ``service.audit_actions``, migrations) read the
catalogues in ``service.web.i18n``, and the pages import them back. An eager import here made
``import service.reject_reasons`` in a fresh process (a migration run by ``civicwatch worker``)
a circular import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pages import STATIC_DIR, router

__all__ = ["STATIC_DIR", "router"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module(".pages", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
