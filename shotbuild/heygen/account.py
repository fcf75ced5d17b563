"""Reading the account once before a build pays: what cannot be read is unknown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shotbuild.heygen.errors import ApiError, AuthError

if TYPE_CHECKING:
    from shotbuild.heygen.client import HeyGenClient
    from shotbuild.heygen.models import Account


async def read_account(client: HeyGenClient) -> Account | None:
    """GET /v3/users/me, or None when it cannot be read (a network fault, a 5xx, an
    answer not understood, an endpoint the server lacks, a key not allowed to read
    the account): the balance is then unknown and the build goes on. A rejected key
    (401) is raised: no create could succeed either."""
    try:
        return await client.get_account()
    except AuthError as e:
        if e.status == 401:
            raise
        return None
    except ApiError:
        return None
