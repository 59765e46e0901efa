"""Test helpers: LoRA adapters made with peft on the tiny model, and Completed models in the store."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from tailor.store.blob_base import BlobStore
from tailor.store.models import add_model as store_add_model
from tailor.store.tables import Dataset, Project, TailoredModel

TARGET_MODULES = ["to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj"]


def make_adapter(model_dir: Path, seed: int, rank: int = 4, alpha: int = 4, spread: float = 0.5) -> bytes:
    """A LoRA adapter file (diffusers format) with random, non-zero A and B matrices."""
    import torch
    from diffusers import BriaFiboPipeline
    from diffusers.models.transformers.transformer_bria_fibo import BriaFiboTransformer2DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = BriaFiboTransformer2DModel.from_pretrained(model_dir / "transformer")
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=TARGET_MODULES, init_lora_weights=True)
    transformer.add_adapter(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * spread)
    state = get_peft_model_state_dict(transformer)
    with tempfile.TemporaryDirectory() as tmp:
        BriaFiboPipeline.save_lora_weights(
            tmp, transformer_lora_layers=state, transformer_lora_adapter_metadata=config.to_dict()
        )
        return (Path(tmp) / "pytorch_lora_weights.safetensors").read_bytes()


def add_completed_model(
    session: Session,
    blobs: BlobStore,
    organization_id: int,
    adapter: bytes | None,
    *,
    status: str = "Completed",
    training_version: str | None = "fibo",
    visual_schema: str | None = None,
) -> TailoredModel:
    """Insert a project, dataset and model (``status``) whose adapter file is in the blob store."""
    project = Project(
        organization_id=organization_id,
        project_name="p",
        ip_medium="illustration",
        ip_type="stylized_scene",
        training_version=training_version,
    )
    session.add(project)
    session.flush()
    dataset = Dataset(
        organization_id=organization_id,
        project_id=project.id,
        name="d",
        status="completed",
        visual_schema=visual_schema,
    )
    session.add(dataset)
    session.flush()
    model = store_add_model(
        session,
        organization_id=organization_id,
        project_id=project.id,
        dataset_id=dataset.id,
        name="m",
        status=status,
        training_version=training_version,
        visual_schema=visual_schema,
    )
    model.training_version = training_version  # an explicit None (the column default is "fibo")
    session.flush()
    if adapter is not None:
        key = f"{model.blob_prefix}adapter.safetensors"
        blobs.put(key, adapter, "application/octet-stream")
        model.adapter_key = key
        model.adapter_sha256 = hashlib.sha256(adapter).hexdigest()
        session.flush()
    return model
