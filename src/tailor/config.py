"""Settings: every ``TAILOR_*`` environment variable, read by pydantic-settings.

Nothing is built at import: call :func:`load_settings` (or construct :class:`Settings`) where needed.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Tailor's configuration. Each field maps to ``TAILOR_<FIELD>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_", env_file=None, extra="ignore")

    # --- where things live ---------------------------------------------------------------------
    home: Path = Field(Path("./.tailor"), description="Data directory (database, blobs, models, token).")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    blob_url: str | None = Field(
        None, description="file:///path or s3://bucket/prefix; default file://<home>/blobs."
    )
    s3_endpoint_url: str | None = Field(None, description="Endpoint of an S3-compatible server.")
    s3_region: str | None = Field(None, description="Region for the S3 client (else AWS_DEFAULT_REGION).")

    # --- the HTTP service ----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `tailor serve` binds to.")
    port: int = Field(8000, description="Port `tailor serve` listens on.")
    public_url: str | None = Field(
        None, description="Base URL clients use to reach Tailor; default derived from each request."
    )
    allowed_hosts: str = Field(
        "",
        description="Host names the API answers to, comma-separated (`*`, `*.example.com`; others get "
        "400); default localhost, 127.0.0.1, [::1] and TAILOR_HOST. TAILOR_PUBLIC_URL's host is added.",
    )
    secret_key: str | None = Field(
        None,
        description="Key that signs file links and seals webhook keys in the database; default "
        "generated once into <home>/secret.",
    )
    signed_url_ttl_s: int = Field(
        24 * 3600,
        ge=60,
        description="Lifetime of signed image/file links (exact, rounded down to at most a minute).",
    )
    metrics_token: str | None = Field(
        None,
        description="Bearer token /metrics requires; unset, /metrics answers loopback clients only.",
    )
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING, ...).")

    # --- limits --------------------------------------------------------------------------------
    max_request_bytes: int = Field(64 * 1024 * 1024, description="Largest request body (single upload).")
    max_zip_bytes: int = Field(2 * 1024**3, description="Largest zip archive accepted for bulk upload.")
    max_zip_uncompressed_bytes: int = Field(8 * 1024**3, description="Cap on a zip's total unpacked size.")
    max_zip_ratio: float = Field(200.0, description="Largest compression ratio of one zip member.")
    max_image_pixels: int = Field(64 * 1024 * 1024, description="Decompression-bomb cap (width x height).")
    max_image_bytes: int = Field(50 * 1024 * 1024, description="Largest single image file.")
    min_image_side: int = Field(1024, description="Images must be at least this on both sides.")
    min_upscale_side: int = Field(256, description="Smallest side that increase_resolution will upscale.")
    thumbnail_side: int = Field(256, description="Longest side of image thumbnails.")
    basic_dataset_max_images: int = Field(200, description="Most images in a basic dataset.")
    advanced_dataset_max_images: int = Field(5000, description="Most images in an advanced dataset.")
    allow_private_urls: bool = Field(
        False, description="Allow image_url/zip_url/webhook_url to reach loopback/private addresses."
    )
    url_fetch_timeout_s: float = Field(
        30.0, gt=0, description="Hard time limit for fetching an image_url (connect, headers and body)."
    )
    url_fetch_per_org: int = Field(
        4, ge=0, description="image_url fetches one organization may have in flight per API process (0: any)."
    )
    url_fetch_total: int = Field(
        16, ge=0, description="image_url fetches in flight per API process, all organizations (0: any)."
    )
    url_fetch_max_bytes: int = Field(64 * 1024 * 1024, description="Largest image fetched from a URL.")
    zip_fetch_timeout_s: float = Field(
        1800.0,
        gt=0,
        description="Time limit for downloading a bulk-upload zip_url (max_zip_bytes caps size).",
    )
    max_model_upload_bytes: int = Field(
        3 * 1000**3, gt=0, description="Largest LoRA file upload_model fetches from a model_url (3 GB)."
    )
    model_fetch_timeout_s: float = Field(
        1800.0, gt=0, description="Time limit for downloading an upload_model model_url."
    )
    max_uploaded_lora_rank: int = Field(
        512, ge=1, description="Largest LoRA rank upload_model accepts (the layer's size caps it too)."
    )
    dataset_export_inline_max_images: int = Field(
        50,
        ge=0,
        description="Datasets with more images are zipped for download by a background job.",
    )
    moderation_model: str | None = Field(
        None,
        description="Image moderation: a transformers image-classification model (hub id or folder); "
        "unset: images are not moderated.",
    )
    moderation_blocked_labels: str = Field(
        "nsfw,unsafe,porn,hentai,sexy",
        description="Comma-separated labels of the moderation model that block an image.",
    )
    moderation_threshold: float = Field(
        0.5, ge=0, le=1, description="Score of a blocked label at or above which an image is blocked."
    )
    moderation_blocked_terms: str | None = Field(
        None, description="Comma-separated words or phrases that block a prompt (the prompt check)."
    )
    lite_steps_num: int = Field(
        20,
        ge=1,
        le=50,
        description="Denoising steps of the /v2/.../lite endpoints (the same FIBO engine, fewer steps).",
    )
    max_zip_entries: int = Field(20000, ge=1, description="Most entries a bulk-upload zip may list.")

    # --- jobs and workers ----------------------------------------------------------------------
    workers: int = Field(1, ge=0, description="Local worker processes started by `tailor serve`.")
    long_job_workers: int = Field(
        1,
        ge=0,
        description="More local worker processes `tailor serve` keeps for long jobs (training); the "
        "TAILOR_WORKERS ones then take only short jobs, so generation, captions and uploads never wait "
        "behind training (0: every worker takes every kind).",
    )
    sync_timeout_s: float = Field(60.0, description="How long a sync=true request waits before 202.")
    heartbeat_interval_s: float = Field(2.0, description="How often workers refresh their heartbeat.")
    heartbeat_timeout_s: float = Field(30.0, description="A worker silent this long is presumed dead.")
    job_max_attempts: int = Field(3, description="Attempts of a job before it fails for good.")
    webhook_max_attempts: int = Field(8, ge=1, description="Delivery attempts of one webhook.")
    webhook_retry_backoff_s: float = Field(
        30.0,
        ge=0,
        description="Base delay between webhook attempts (doubles per attempt, ±20% jitter, max 1 h).",
    )
    job_retry_backoff_s: float = Field(
        2.0, ge=0, description="Base delay before a failed job is retried (doubles per attempt, max 5 min)."
    )
    worker_poll_interval_s: float = Field(0.25, gt=0, description="How often an idle worker looks for work.")
    worker_shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long a worker lets its running job finish before requeueing it.",
    )
    job_cancel_grace_s: float = Field(
        10.0, ge=0, description="How long a cancelled job may take to stop by itself before it is killed."
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="Time limit of one webhook delivery attempt.")
    sweep_interval_s: float = Field(
        3600.0,
        ge=0,
        description="How often `tailor serve` removes unreferenced blobs and unfinished writes (0: never).",
    )
    sweep_grace_s: float = Field(
        3600.0,
        ge=0,
        description="Only blobs older than this are swept; keep it above the longest blob-write-to-record "
        "time and any clock skew with S3.",
    )
    extra_handler_modules: str = Field(
        "", description="Comma-separated modules whose register(registry) function adds job kinds."
    )

    # --- ML engine -----------------------------------------------------------------------------
    base_model: str = Field("tiny", description="Hub id (briaai/FIBO), local diffusers dir, or 'tiny'.")
    base_models: str = Field(
        "",
        description="Weights per base-model family, comma-separated `family=weights` (e.g. "
        "`fibo-2=briaai/Fibo-2.0-dev`): hub id, local diffusers dir, or 'tiny'. `fibo` defaults to "
        "TAILOR_BASE_MODEL; another family to 'tiny' when TAILOR_BASE_MODEL is 'tiny', else its hub id.",
    )
    fibo2_turbo: str = Field(
        "",
        description="Serve FIBO 2 models with these turbo weights (hub id briaai/Fibo-2.0-turbo, local "
        "dir, or 'tiny'): 4 steps, no guidance by default. Unset: serve with the weights trained on.",
    )
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weights' dtype: auto is bfloat16 on CUDA, float32 on CPU."
    )
    devices: str = Field(
        "",
        description="Comma-separated devices the local workers of `tailor serve` are spread over "
        "(worker i gets device i mod n, e.g. cuda:0,cuda:1); empty: every worker uses TAILOR_DEVICE.",
    )
    gpu_memory_gb: float | None = Field(
        None,
        gt=0,
        description="GPU memory this worker may plan for (unset: what the device has free); a job "
        "whose plan does not fit fails at once with a clear error.",
    )
    attention_backend: str = Field(
        "auto",
        description="Transformer attention: auto (FlashAttention when installed on CUDA, else "
        "PyTorch SDPA), native (SDPA), flash, or another diffusers attention backend name.",
    )
    compile: bool = Field(
        False,
        description="torch.compile the transformer (CUDA); adapters are hot-swapped so switching "
        "them never recompiles.",
    )
    vae_tiling_pixels: int = Field(
        1536 * 1536,
        ge=0,
        description="Decode outputs larger than this many pixels with VAE tiling (0: always).",
    )
    cpu_offload: bool = Field(False, description="On CUDA, keep only the active component on the GPU.")
    adapter_cache_size: int = Field(4, ge=1, description="LoRA adapters kept loaded per worker.")
    max_steps: int | None = Field(
        None, ge=1, description="Cap on denoising steps, for CPU development (unset: steps_num as asked)."
    )

    video_model: str = Field(
        "auto",
        description="Image-to-video model: hub id (Wan-AI/Wan2.2-TI2V-5B-Diffusers), local diffusers dir, "
        "'tiny', or 'auto' (tiny when TAILOR_BASE_MODEL is tiny, else Wan 2.2 TI2V-5B). Loaded on the "
        "first video job only.",
    )
    video_device: str | None = Field(
        None,
        description="Device of the video model, e.g. cuda:1 for a GPU of its own (default: TAILOR_DEVICE).",
    )
    video_steps: int | None = Field(
        None,
        ge=1,
        description="Denoising steps per clip (unset: the model's default, 50 for Wan 2.2 TI2V-5B).",
    )

    # --- training ------------------------------------------------------------------------------
    training_seed: int = Field(10, description="Seed of data order, noise and timesteps (per step).")
    training_grad_accumulation: int = Field(
        4, ge=1, description="Micro-batches (of one image) accumulated per optimizer step."
    )
    training_gradient_checkpointing: bool = Field(
        True, description="Recompute activations in backward (less GPU memory, ~30% slower)."
    )
    training_sample_steps: int = Field(
        20, ge=1, description="Denoising steps of the sample image rendered at each checkpoint."
    )
    training_max_steps: int | None = Field(
        None,
        ge=1,
        description="Development/tests: cap every run at this many steps (the recorded parameters keep "
        "the chosen values).",
    )
    training_text_cache_bytes: int | None = Field(
        4 * 1024**3,
        ge=0,
        description="Disk bytes a training run may spend on cached text-encoder states (~150 MB per "
        "caption with FIBO's weights); captions past it are re-encoded at each use (unset: no limit).",
    )
    training_deterministic: bool = Field(
        False,
        description="Deterministic GPU kernels (slower): a resumed run gives the weights of an "
        "uninterrupted one on the same hardware and software.",
    )
    training_devices: str = Field(
        "",
        description="Data-parallel training: the devices of one run's processes (ranks), e.g. "
        "cuda:0,cuda:1, or a count (4: cuda:0-3 on a GPU worker, 4 processes on a CPU one); "
        "groups separated by ';' go one per long-job worker of `tailor serve`. Empty: one process on "
        "TAILOR_DEVICE. TAILOR_TRAINING_GRAD_ACCUMULATION must be a multiple of the count.",
    )
    training_checkpoint_interval: int | None = Field(
        None,
        ge=1,
        description="Development/tests: checkpoint every N steps instead of the run's checkpoint_interval.",
    )
    eval_models: str = Field(
        "",
        description="Scoring models of checkpoint evaluation: empty or 'off' (none), 'tiny' (random "
        "CLIP and DINOv2 built locally, for tests), or 'clip=<hub id or dir>,dino=<hub id or dir>'.",
    )
    eval_prompts: int = Field(
        4, ge=1, le=8, description="Validation prompts rendered and scored at each checkpoint."
    )

    # --- Ray executor (TAILOR_EXECUTOR=ray; see docs/ray.md) -----------------------------------
    executor: Literal["local", "ray"] = Field(
        "local", description="Where workers run jobs: 'local' (threads, child processes) or 'ray'."
    )
    ray_address: str | None = Field(
        None, description="Ray cluster to join ('auto', ray://head:10001); unset: start a local Ray."
    )
    ray_namespace: str = Field("tailor", description="Ray namespace of Tailor's Serve app and tasks.")
    ray_min_replicas: int = Field(1, ge=0, description="Fewest generation replicas (Serve autoscaling).")
    ray_max_replicas: int = Field(1, ge=1, description="Most generation replicas (Serve autoscaling).")
    ray_replica_gpus: float = Field(0.0, ge=0, description="GPUs per generation replica (1 on GPU nodes).")
    ray_replica_cpus: float = Field(1.0, ge=0, description="CPUs per generation replica.")
    ray_adapters_per_replica: int = Field(
        4, ge=1, description="Tailored adapters a generation replica keeps loaded (LRU)."
    )
    ray_adapter_affinity: bool = Field(
        True, description="Route generations to replicas already holding their adapter (off: any replica)."
    )
    ray_generation_concurrency: int = Field(
        4, ge=1, description="Generation jobs a Ray worker keeps in flight on the replicas."
    )
    ray_train_gpus: float = Field(0.0, ge=0, description="GPUs of one training run's Ray task.")
    ray_train_cpus: float = Field(1.0, ge=0, description="CPUs of one training run's Ray task.")
    ray_train_max_retries: int = Field(
        3, ge=0, description="Times Ray reruns a training task whose node or process died (it resumes)."
    )
    ray_training_concurrency: int = Field(2, ge=1, description="Training runs a Ray worker keeps in flight.")
    ray_task_cpus: float = Field(1.0, ge=0, description="CPUs of one caption, upload or prompt task.")
    ray_vlm_concurrency: int = Field(
        4,
        ge=1,
        description="Captions, bulk uploads and structured prompts in flight on Ray (protects the VLM).",
    )

    # --- VLM bridge ----------------------------------------------------------------------------
    vlm: str = Field("offline", description="'offline' or a litellm model id, e.g. gemini/gemini-2.5-flash.")
    vlm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible VLM server.")
    vlm_api_key: str | None = Field(
        None, description="API key for the VLM provider (else its usual variable)."
    )
    vlm_timeout_s: float = Field(60.0, description="Time limit of one VLM call.")
    vlm_max_retries: int = Field(3, description="Retries of a VLM call on transient errors.")
    vlm_concurrency: int = Field(8, ge=1, description="VLM calls in flight per provider and process.")
    vlm_retry_backoff_s: float = Field(
        0.5, ge=0, description="Base of the jittered exponential backoff between VLM retries."
    )
    vlm_cache_size: int = Field(256, ge=0, description="Identical VLM requests remembered (0: no cache).")

    # --- rate limits and quotas ----------------------------------------------------------------
    rate_limit_per_s: float = Field(
        50.0,
        ge=0,
        description="Requests per second each API token may sustain (without a valid token: each "
        "client address); 0: no limit.",
    )
    rate_limit_burst: int = Field(
        200,
        ge=0,
        description="Requests a token (or address) may make at once before the rate applies; 0: no limit.",
    )
    auth_backoff_after: int = Field(
        10,
        ge=0,
        description="Failed authentications from one client address before it must wait (1 s, doubling); "
        "0: no backoff.",
    )
    auth_backoff_max_s: int = Field(300, ge=1, description="Longest wait after failed authentications.")
    auth_backoff_reset_s: int = Field(
        900,
        ge=1,
        description="An address's failed authentications are forgotten after this long without one.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db shared by every API process for rate limits; default: "
        "each process limits on its own.",
    )
    org_max_active_jobs: int = Field(
        50, ge=0, description="v2 requests queued or running at once per organization; 0: no limit."
    )
    org_max_active_trainings: int = Field(
        2, ge=0, description="Trainings queued or running at once per organization; 0: no limit."
    )

    @field_validator("training_devices", mode="after")
    @classmethod
    def _training_devices(cls, v: str) -> str:
        training_device_groups(v)  # raises, naming what is wrong
        return v

    @model_validator(mode="after")
    def _training_batch_splits(self) -> Settings:
        for group in training_device_groups(self.training_devices):
            n = len(group)
            if self.training_grad_accumulation % n:
                raise ValueError(
                    f"TAILOR_TRAINING_GRAD_ACCUMULATION ({self.training_grad_accumulation}) must be a "
                    f"multiple of the number of training processes in TAILOR_TRAINING_DEVICES ({n}): "
                    "each takes an equal share of every step's micro-batches"
                )
        return self

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    # --- derived -------------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'tailor.db'}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{self.home / 'blobs'}"

    def allowed_host_names(self) -> list[str]:
        """Host names (lower case, no port, IPv6 without brackets) the API answers to."""
        from urllib.parse import urlsplit

        names = [h for h in (p.strip() for p in self.allowed_hosts.split(",")) if h]
        if not names:
            names = ["localhost", "127.0.0.1", "::1", self.host]
        if self.public_url:
            names.append(urlsplit(self.public_url).hostname or "")
        return sorted({n.lower().strip("[]") for n in names if n})

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def resolved_secret_key(self) -> str:
        """The server secret (signs links, seals webhook keys): configured, or generated once into
        ``<home>/secret`` (0600 from the start; concurrent first starts agree on one)."""
        if self.secret_key:
            return self.secret_key
        from tailor.store.private_files import create_private_once, private_dir

        path = self.home / "secret"
        if path.exists():
            return path.read_text().strip()
        private_dir(self.home)
        return create_private_once(path, secrets.token_urlsafe(32)).strip()


DEVICE_NAME = re.compile(r"^(cpu|cuda(:\d+)?|mps|xpu(:\d+)?)$")


def training_device_groups(text: str, gpu: bool = True) -> list[list[str]]:
    """``TAILOR_TRAINING_DEVICES`` as groups of devices, one entry per training process (rank).

    A group is a comma-separated list of devices or a count: ``n`` is ``cuda:0`` .. ``cuda:n-1``
    with ``gpu``, else ``n`` processes on the CPU. Raises ``ValueError`` naming what is wrong."""
    groups: list[list[str]] = []
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        if part.isdigit():
            n = int(part)
            if n < 1:
                raise ValueError(f"TAILOR_TRAINING_DEVICES: a count must be at least 1, not {part!r}")
            groups.append([f"cuda:{i}" for i in range(n)] if gpu else ["cpu"] * n)
            continue
        devices = [d.strip() for d in part.split(",") if d.strip()]
        bad = [d for d in devices if not DEVICE_NAME.match(d)]
        if bad:
            raise ValueError(
                f"TAILOR_TRAINING_DEVICES: {bad[0]!r} is not a device (cpu, cuda, cuda:N) or a count"
            )
        gpus = [d for d in devices if d != "cpu"]
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"TAILOR_TRAINING_DEVICES: {part!r} names a GPU twice (one process per GPU)")
        groups.append(devices)
    return groups


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]


def settings_table() -> str:
    """The README's configuration table, generated from the fields above (a test keeps them equal)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "home":
            shown = "`./.tailor`"
        elif default is None or default == "":
            shown = "—"
        else:
            shown = f"`{default}`"
        lines.append(f"| `TAILOR_{name.upper()}` | {shown} | {(field.description or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"
