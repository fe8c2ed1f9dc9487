"""Browser front end of the review service: pages, scripts, styles and message catalogues.

``service.main`` includes :data:`router`; the router serves its own ``/static/`` files too, so
mounting :data:`STATIC_DIR` separately is optional.
"""

from .pages import STATIC_DIR, router

__all__ = ["STATIC_DIR", "router"]
