"""The legacy ``/v1/text-to-image/tailored/{model_id}`` as a bridge onto v2 generation.

Each of the ``num_results`` images is one v2 request (so each has its status, its seed and its
place in the quotas); seeds are ``seed, seed+1, ...``. With ``include_generation_prefix`` the
model's caption prefix (taken from its dataset when training started, else the dataset's current
one; set with ``PUT /v1/tailored-gen/datasets/{id}`` ``caption_prefix``, e.g. from
``generate_prefix``) is put before the prompt, as the v1 path did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tailor.domain.jobs import SEED_MAX, GenerateImage
from tailor.services import generation
from tailor.services.context import Stores
from tailor.store import models as model_store
from tailor.store.orgs import Principal
from tailor.store.tables import GenerationRequest

ENDPOINT = "/v1/text-to-image/tailored"


@dataclass(frozen=True)
class LegacyRequest:
    model_id: int
    prompt: str
    num_results: int = 1
    aspect_ratio: str = "1:1"
    seed: int | None = None
    model_influence: float = 1.0
    negative_prompt: str | None = None
    steps_num: int = 50
    include_generation_prefix: bool = True
    content_moderation: bool = False


def prefixed_prompt(session: Session, organization_id: int, model_id: int, prompt: str, include: bool) -> str:
    """The prompt, after the model's caption prefix when asked for and there is one."""
    model, _schema = generation.servable_model(session, organization_id, model_id)
    if not include:
        return prompt
    prefix = model.caption_prefix
    if prefix is None and model.dataset_id is not None:
        dataset = model_store.get_dataset(session, organization_id, model.dataset_id)
        prefix = dataset.caption_prefix if dataset is not None else None
    prefix = (prefix or "").strip()
    return f"{prefix} {prompt}" if prefix else prompt


def submit(rt: Stores, session: Session, principal: Principal, req: LegacyRequest) -> list[GenerationRequest]:
    """One v2 request per result, in the caller's transaction."""
    prompt = prefixed_prompt(
        session, principal.organization_id, req.model_id, req.prompt, req.include_generation_prefix
    )
    first = generation.new_seed(req.seed)
    out: list[GenerationRequest] = []
    for i in range(req.num_results):
        payload = GenerateImage(
            model_id=req.model_id,
            prompt=prompt,
            negative_prompt=req.negative_prompt,
            aspect_ratio=req.aspect_ratio,
            steps_num=req.steps_num,
            seed=(first + i) % (SEED_MAX + 1),
            influence=req.model_influence,
            moderate_output=req.content_moderation,
        )
        out.append(
            generation.submit_image(
                rt,
                session,
                principal,
                payload,
                endpoint=ENDPOINT,
                images=[],
                webhook_url=None,
                moderate_prompt=req.content_moderation,
            )
        )
    return out
