"""SMART App Launch 2.2 for the web app: EHR launch and standalone launch with PKCE.

``smart_router(settings)`` gives ``/smart/launch`` (EHR launch: ``iss`` + ``launch``),
``/smart/standalone`` and ``/smart/callback``; after the token exchange the patient in context
opens on the web app's patient page.
"""

from ruxtrack.web.smart._routes import SmartSettings, create_smart_app, smart_router

__all__ = ["SmartSettings", "create_smart_app", "smart_router"]
