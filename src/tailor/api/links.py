"""The link signer of one request: links in an answer are bound to the API token that asked.

Routes that render links take ``signer: Signer`` (never ``rt.signer``, which cannot sign without
being told the token), so a link handed out with a token stops working when that token is revoked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tailor.api.deps import CurrentOrg, RuntimeDep
from tailor.domain.signing import LinkSigner


def link_signer(rt: RuntimeDep, principal: CurrentOrg) -> LinkSigner:
    return rt.signer.bound(principal.token_id)


Signer = Annotated[LinkSigner, Depends(link_signer)]
