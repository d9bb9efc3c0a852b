"""Where the browser goes after a callback: only console paths, built from PUBLIC_BASE_URL.

Nothing from the request (Host, X-Forwarded-*, a `return_to`) takes part in these URLs.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from tms_console.settings import get_settings


def project_page(project_id: uuid.UUID | str, **query: str) -> str:
    project = uuid.UUID(str(project_id))  # refuses anything that is not a UUID
    base = f"{get_settings().public_base_url}/projects/{project}/integrations"
    return f"{base}?{urlencode(query)}" if query else base
