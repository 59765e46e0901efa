"""One training job: load the model's dataset, cache it, train, checkpoint, finish the model.

Checkpoints are written blob-first, record-second: ``checkpoints/<step>/<run>/adapter.safetensors``
(diffusers LoRA, the dtype served), ``state.pt`` (float32 LoRA weights, AdamW, scheduler, RNG) and
``sample.png``. Only the latest checkpoint keeps its ``state.pt`` (resuming needs no other). A job
claimed again after its worker died finds the latest state and continues from that step.

Every record this job writes (progress, checkpoints, the model's status) is fenced by the attempt's
lease (``store.leases``): once the job has been reaped and claimed again, this attempt's writes fail
with ``LeaseLost`` and it stops. Its files live under its own run id, so a fenced-off attempt never
overwrites the files of the attempt that replaced it, and it removes the files it wrote for a record
it could not commit.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.domain import models as rules
from tailor.domain.enums import ModelStatus
from tailor.domain.jobs import JobCancelled, PermanentJobError
from tailor.engine.evaluation import evaluate_checkpoint
from tailor.engine.training.export import write_export_zip
from tailor.jobs.context import JobContext
from tailor.store import checkpoints as ckpt_store
from tailor.store import models as model_store
from tailor.store.blob_base import BlobNotFound
from tailor.store.db import session_scope
from tailor.store.leases import fenced

if TYPE_CHECKING:
    from tailor.engine.training.ranks import RankGroup

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
SAMPLE_SEED = 1234


@dataclass
class Plan:
    """What the job trains: the model's parameters with the settings' development overrides."""

    model_id: int
    dataset_id: int
    blob_prefix: str  # where the model's files live (see domain.models)
    total_steps: int
    checkpoint_interval: int
    rank: int
    learning_rate: float
    lr_scheduler: str
    warmup_steps: int
    captions: list[tuple[str, str, str]]  # (blob key, sha256, caption)
    family: str = "fibo"  # the model's training_version: the base-model family it trains on


def _plan(ctx: JobContext, model_id: int) -> Plan | None:
    """Read what to train; None when the model was stopped before the job started."""
    with fenced(ctx.sessions, ctx.lease) as s:
        model = model_store.get_model_by_id(s, model_id)
        if model is None:
            raise PermanentJobError(f"model {model_id} no longer exists", code=404)
        if model.status == ModelStatus.Stopping:
            model.status = rules.transition(model.status, ModelStatus.Stopped)
            return None
        if model.status != ModelStatus.InProgress:
            raise PermanentJobError(f"model {model_id} is {model.status}, not InProgress", code=409)
        if model.dataset_id is None:
            raise PermanentJobError(f"model {model_id} was uploaded: it has no dataset to train on", code=409)
        params = rules.TrainingParameters.from_dict(model.training_parameters or {})
        images = model_store.dataset_images(s, model.dataset_id)
        captions = [(i.blob_key, i.sha256, i.caption) for i in images if i.caption]
        blob_prefix = model.blob_prefix
        dataset_id = model.dataset_id
        family = model.training_version or "fibo"
    if not captions:
        raise PermanentJobError("the dataset has no captioned images", code=412)
    st = ctx.settings
    total = min(params.total_training_steps, st.training_max_steps or params.total_training_steps)
    return Plan(
        model_id=model_id,
        dataset_id=dataset_id,
        blob_prefix=blob_prefix,
        total_steps=total,
        checkpoint_interval=st.training_checkpoint_interval or params.checkpoint_interval,
        rank=params.rank,
        learning_rate=params.learning_rate,
        lr_scheduler=params.lr_scheduler,
        warmup_steps=params.warmup_steps,
        captions=captions,
        family=family,
    )


@contextmanager
def _encoders_on(pipe: Any, device: str) -> Any:
    """Bring the text encoder and VAE to ``device`` for a while, then back where they were (on
    CUDA they wait on the CPU, unless the text encoder recomputes uncached text states)."""
    if not device.startswith("cuda"):
        yield
        return
    before = {name: getattr(pipe, name).device for name in ("text_encoder", "vae")}
    pipe.text_encoder.to(device)
    pipe.vae.to(device)
    try:
        yield
    finally:
        for name, where in before.items():
            getattr(pipe, name).to(where)
        import torch

        torch.cuda.empty_cache()


class TrainingJob:
    """Runs one ``train_model`` job end to end."""

    def __init__(self, ctx: JobContext, model_id: int) -> None:
        if ctx.lease is None:
            raise PermanentJobError("training runs only in a job claimed by a worker (no lease)", code=500)
        self.ctx = ctx
        self.model_id = model_id
        self.run_id = rules.new_run_id()
        self._last_report = 0.0
        self._samples: list[str] = []
        # measurements of this attempt (``run`` in the progress record; estimates read them)
        self._began = time.monotonic()
        self._started_at = _utc_now()  # replaced by the first attempt's time on a resume
        self._facts: dict[str, Any] = {}
        self._run: dict[str, Any] = {}
        self._first_step_at: float | None = None
        self._checkpoint_seconds: list[float] = []
        self.ranks: RankGroup | None = None  # the other data-parallel processes, if any
        self._state_dir: tempfile.TemporaryDirectory[str] | None = None

    def _fenced(self) -> Any:
        """A transaction that commits only while this attempt still holds the job."""
        return fenced(self.ctx.sessions, self.ctx.lease)

    def _check_lease(self) -> None:
        """Raise ``LeaseLost`` now, before any file is written, if this attempt lost the job."""
        with self._fenced():
            pass

    def _discard(self, keys: list[str]) -> None:
        """Remove files this attempt wrote for a record it could not commit."""
        for key in keys:
            try:
                self.ctx.blobs.delete(key)
            except Exception:  # left to the sweeper
                log.warning("could not delete %s", key, exc_info=True)

    def run(self) -> dict[str, Any]:
        plan = self.plan()
        if plan is None:
            return {"model_id": self.model_id, "status": ModelStatus.Stopped.value}
        try:
            trainer = self.prepare(plan)
            trainer.run(
                on_step=lambda step, loss, sps: self._on_step(plan, trainer, step, loss, sps),
                on_checkpoint=lambda step, loss: self.checkpoint(trainer, step, loss),
            )
            if self.ranks is not None:  # every rank took its last step: they leave the group
                self.ranks.close(finished=True)
            return self._finish(plan, trainer)
        except JobCancelled:
            self._set_status(ModelStatus.Stopped)
            raise
        except Exception as e:
            # a collective that failed because a helper rank died: report what happened to it
            failure = self.ranks.failure_error() if self.ranks is not None else None
            if failure is not None and not isinstance(e, PermanentJobError):
                raise failure from e
            raise
        finally:
            if self.ranks is not None:  # stopped, failed or done: no rank outlives the job
                self.ranks.close()
            if self._state_dir is not None:
                self._state_dir.cleanup()

    def _on_step(self, plan: Plan, trainer: Any, step: int, loss: float, s_per_step: float) -> None:
        if self.ranks is not None:
            self.ranks.check()
        self._report(
            step,
            plan.total_steps,
            loss,
            s_per_step * (plan.total_steps - step),
            lr=trainer.last_lr,
            seconds_per_step=s_per_step,
        )

    # --- the run -----------------------------------------------------------------------------
    def plan(self) -> Plan | None:
        """What to train (None: the model was stopped before the job started)."""
        return _plan(self.ctx, self.model_id)

    def prepare(self, plan: Plan) -> Any:
        """Load the pipeline and the cached dataset; returns the trainer, resumed from the latest
        checkpoint when there is one."""
        import torch

        from tailor.engine.families import get_family
        from tailor.engine.pipeline import (
            BaseModelUnavailable,
            check_memory,
            is_tiny,
            load_pipeline,
            model_source,
            resolve_device,
        )
        from tailor.engine.training.data import (
            CacheReport,
            Item,
            build_examples,
            dataset_cache_dir,
            prune_cache,
        )
        from tailor.engine.training.ranks import RankGroup, place_encoders, rank_devices
        from tailor.engine.training.trainer import TrainConfig, Trainer

        st = self.ctx.settings
        devices = rank_devices(st, resolve_device(st))
        device = devices[0]  # this process is rank 0 of len(devices)
        if st.training_grad_accumulation % len(devices):
            raise PermanentJobError(
                f"TAILOR_TRAINING_GRAD_ACCUMULATION ({st.training_grad_accumulation}) must be a multiple "
                f"of the number of training processes ({len(devices)}, TAILOR_TRAINING_DEVICES)",
                code=409,
            )
        family = get_family(plan.family)
        tiny = is_tiny(st, family)
        self._report(0, plan.total_steps, None, None, force=True)
        memory = {
            "rank": plan.rank,
            "gradient_checkpointing": st.training_gradient_checkpointing,
            "text_encoder_on_device": st.training_text_cache_bytes is not None,
        }
        if not tiny and family.name == "fibo":  # the memory plan is of FIBO's architecture
            try:  # the whole run's peak, before anything is loaded: fail now rather than OOM later
                check_memory(st, device, "training", **memory)  # per rank: each checks its own
            except BaseModelUnavailable as e:
                raise PermanentJobError(f"model {self.model_id}: {e}", code=507) from e
        if len(devices) > 1:  # the other ranks load their pipelines while this one builds the cache
            self.ranks = RankGroup(st, devices, family.name, memory, tag=f"model-{self.model_id}")
            self.ranks.spawn()
        # the trainer manages devices itself: never under accelerate's offload hooks
        pipe: Any = load_pipeline(
            st.model_copy(update={"cpu_offload": False, "device": device}), family, plan=False
        )
        self.base_weights = model_source(st, family)
        blobs = self.ctx.blobs

        def fetch(key: str) -> Callable[[], bytes]:
            return lambda: blobs.get(key)

        # streamed: an image is fetched only when its latents are not cached yet
        items = (Item(fetch(key), cap, sha) for key, sha, cap in plan.captions)
        root = training_cache_root(st)
        with session_scope(self.ctx.sessions) as s:
            live = {str(i) for i in model_store.dataset_ids(s)}
        prune_cache(root, live | {str(plan.dataset_id)})
        self.cache_report = CacheReport()
        examples = build_examples(
            pipe,
            items,
            dataset_cache_dir(root, plan.dataset_id),
            self.base_weights,
            tiny=tiny,
            text_budget=st.training_text_cache_bytes,
            report=self.cache_report,
            family=family,
        )
        log.info(
            "model %s: %d images cached (%.1f MB latents, %.1f MB text states for %d captions, "
            "%d recomputed per use)",
            self.model_id,
            self.cache_report.images,
            self.cache_report.latents_bytes / 1e6,
            self.cache_report.text_bytes / 1e6,
            self.cache_report.text_cached,
            self.cache_report.text_recomputed,
        )
        place_encoders(pipe, examples, device)
        self.sample_caption = plan.captions[0][2]
        self.sample_size = family.size_for("1:1", tiny)
        self.family = family
        self.serve_dtype = torch.bfloat16 if device.startswith("cuda") else None
        self.device = device
        config = TrainConfig(
            rank=plan.rank,
            learning_rate=plan.learning_rate,
            lr_scheduler=plan.lr_scheduler,
            warmup_steps=plan.warmup_steps,
            total_steps=plan.total_steps,
            checkpoint_interval=plan.checkpoint_interval,
            grad_accumulation=st.training_grad_accumulation,
            seed=st.training_seed,
            gradient_checkpointing=st.training_gradient_checkpointing,
            deterministic=st.training_deterministic,
        )
        state = self._latest_state(config, len(devices))
        if self.ranks is not None:
            state_path = None
            if state is not None:  # the helpers read the state from a file of this run's
                self._state_dir = tempfile.TemporaryDirectory(prefix="tailor-resume-")
                state_path = Path(self._state_dir.name) / "state.pt"
                torch.save(state, state_path)
            self.ranks.start(
                examples,
                config,
                state_path,
                device,
                waiting=lambda: self._report(0, plan.total_steps, None, None, force=True),
            )
        trainer = Trainer(pipe, examples, config, device=device, family=family)
        if state is not None:
            step = trainer.load_state(state)
            log.info("model %s: resuming training at step %s", self.model_id, step)
            if trainer.resume_note:
                log.info("model %s: %s", self.model_id, trainer.resume_note)
        self.blob_prefix = plan.blob_prefix
        self._record_run_facts(plan, config, family, device, len(examples))
        return trainer

    def _record_run_facts(self, plan: Plan, config: Any, family: Any, device: str, images: int) -> None:
        """What the progress record keeps about this run: the learning-rate schedule as the
        trainer computes it, what the samples render, and the setting an estimate matches on."""
        from tailor.engine.pipeline import weights_name
        from tailor.engine.training.schedule import lr_curve

        self._facts = {
            "started_at": self._started_at,
            "lr_schedule": lr_curve(
                config.lr_scheduler, config.learning_rate, config.warmup_steps, config.total_steps
            ),
            "sample_prompt": self.sample_caption,
            "sample_seed": SAMPLE_SEED,
        }
        self._run = {
            "family": family.name,
            "weights": weights_name(self.ctx.settings, family),
            "device": _device_name(device),
            "rank": plan.rank,
            "grad_accumulation": config.grad_accumulation,
            "images": images,
        }

    def _latest_state(self, config: Any, world: int) -> dict[str, Any] | None:
        """The resumable state of the latest checkpoint (None: start from step 0), checked against
        this run's schedule before any rank is given it (409 naming what differs)."""
        from tailor.engine.training.trainer import ResumeMismatch, check_schedule, read_state

        with session_scope(self.ctx.sessions) as s:
            latest = ckpt_store.latest_checkpoint(s, self.model_id)
            key = latest.state_key if latest is not None else None
            samples = [c.sample_key for c in reversed(ckpt_store.list_checkpoints(s, self.model_id))]
            model = model_store.get_model_by_id(s, self.model_id)
            started = (model.training_progress or {}).get("started_at") if model is not None else None
        self._samples = [k for k in samples if k]
        if key is not None and started:  # the elapsed time counts from the run's first start
            self._started_at = started
        if key is None:
            return None
        state = read_state(self.ctx.blobs.get(key))
        try:
            check_schedule(config, state.get("schedule"), world)
        except ResumeMismatch as e:
            raise PermanentJobError(f"model {self.model_id}: {e}", code=409) from e
        return state

    # --- progress and checkpoints ------------------------------------------------------------
    def _report(
        self,
        step: int,
        total: int,
        loss: float | None,
        eta: float | None,
        *,
        force: bool = False,
        lr: float | None = None,
        seconds_per_step: float | None = None,
    ) -> None:
        now = time.monotonic()
        if self._first_step_at is None and step > 0 and seconds_per_step is not None:
            # setup: loading the base model and caching the dataset, up to the first step
            self._first_step_at = now - seconds_per_step
            self._run["setup_seconds"] = round(self._first_step_at - self._began, 2)
        if seconds_per_step is not None:
            self._run["seconds_per_step"] = float(f"{seconds_per_step:.4g}")
        if not force and now - self._last_report < PROGRESS_EVERY_S and step < total:
            return
        self._last_report = now
        figures: dict[str, Any] = {
            "learning_rate": lr,
            "elapsed_seconds": self._elapsed(),
            "seconds_per_step": seconds_per_step,
        }
        progress = rules.training_progress(
            step, total, loss=loss, eta_seconds=eta, sample_keys=self._samples, **figures
        )
        with self._fenced() as s:
            model = model_store.get_model_by_id(s, self.model_id)
            if model is not None and model.status == ModelStatus.InProgress:
                model.training_progress = rules.training_progress(
                    step,
                    total,
                    loss=loss,
                    eta_seconds=eta,
                    sample_keys=self._samples,
                    previous=model.training_progress,
                    facts=self._progress_facts(),
                    **figures,
                )
        self.ctx.progress(model_id=self.model_id, **{k: v for k, v in progress.items() if k != "sample_keys"})

    def _elapsed(self) -> float:
        """Wall time since the run first started (across resumed attempts)."""
        try:
            began = datetime.fromisoformat(self._started_at)
        except ValueError:
            return time.monotonic() - self._began
        return (datetime.now(UTC) - began).total_seconds()

    def _progress_facts(self) -> dict[str, Any]:
        facts = {"started_at": self._started_at, **self._facts}
        if self._run:
            facts["run"] = dict(self._run)
        return facts

    def checkpoint(self, trainer: Any, step: int, loss: float) -> None:
        """Store the checkpoint of ``step`` and record it, under this attempt's lease: an attempt
        that lost the job writes no file and records nothing (``LeaseLost``)."""
        blobs = self.ctx.blobs
        prefix = rules.checkpoint_prefix(self.blob_prefix, step, self.run_id)
        adapter_key, state_key, sample_key = (
            prefix + "adapter.safetensors",
            prefix + "state.pt",
            prefix + "sample.png",
        )
        written = [adapter_key, adapter_key + ".json", state_key, sample_key]
        self._check_lease()
        began = time.monotonic()
        try:
            adapter_sha256 = self._write_checkpoint(trainer, adapter_key, state_key, sample_key)
            stale = self._record_checkpoint(step, loss, adapter_key, adapter_sha256, state_key, sample_key)
        except BaseException:
            self._discard(written)
            raise
        for key in stale:
            blobs.delete(key)
        self._samples = [k for k in self._samples if k not in stale]
        if sample_key not in self._samples:
            self._samples.append(sample_key)
        self._checkpoint_seconds.append(time.monotonic() - began)
        self._run["checkpoint_seconds"] = round(
            sum(self._checkpoint_seconds) / len(self._checkpoint_seconds), 2
        )
        self._run.update(self._checkpoint_bytes(adapter_key, state_key, sample_key))
        self._report(step, trainer.config.total_steps, loss, None, force=True, lr=trainer.last_lr)
        # scored checkpoints (TAILOR_EVAL_MODELS): errors are recorded, never raised
        evaluate_checkpoint(
            self.ctx,
            model_id=self.model_id,
            blob_prefix=self.blob_prefix,
            run_id=self.run_id,
            trainer=trainer,
            step=step,
            size=self.sample_size,
            device=self.device,
        )

    def _checkpoint_bytes(self, adapter_key: str, state_key: str, sample_key: str) -> dict[str, int]:
        """Sizes of one checkpoint's files (what an estimate of disk use scales by the rank)."""
        sizes: dict[str, int] = {}
        for name, key in (
            ("adapter_bytes", adapter_key),
            ("state_bytes", state_key),
            ("sample_bytes", sample_key),
        ):
            try:
                sizes[name] = self.ctx.blobs.size(key)
            except BlobNotFound:  # not there (a store that lost it): no figure
                continue
        return sizes

    def _write_checkpoint(self, trainer: Any, adapter_key: str, state_key: str, sample_key: str) -> str:
        """Store the checkpoint's files; returns the adapter's SHA-256."""
        blobs = self.ctx.blobs
        with tempfile.TemporaryDirectory() as tmp:
            path = trainer.save_adapter(Path(tmp), dtype=self.serve_dtype)
            adapter_sha256 = _file_sha256(path)
            with open(path, "rb") as f:
                blobs.put_file(adapter_key, f, content_type="application/octet-stream")
            blobs.put(adapter_key + ".json", Path(str(path) + ".json").read_bytes(), "application/json")
            state_path = Path(tmp) / "state.pt"
            trainer.save_state(state_path)
            with open(state_path, "rb") as f:
                blobs.put_file(state_key, f, content_type="application/octet-stream")
        with _encoders_on(trainer.pipe, self.device):
            image = trainer.sample(
                self.sample_caption,
                size=self.sample_size,
                steps=self.ctx.settings.training_sample_steps,
                seed=SAMPLE_SEED,
            )
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        blobs.put(sample_key, buf.getvalue(), "image/png")
        return adapter_sha256

    def _record_checkpoint(
        self,
        step: int,
        loss: float,
        adapter_key: str,
        adapter_sha256: str,
        state_key: str,
        sample_key: str,
    ) -> list[str]:
        """Record the checkpoint under the lease; returns the files it made stale (the earlier
        resumable states, and those of a row of the same step that it replaces)."""
        stale: list[str] = []
        with self._fenced() as s:
            previous = ckpt_store.get_checkpoint(s, self.model_id, step)
            if previous is not None:
                stale.extend(_checkpoint_files(previous, keep={adapter_key, state_key, sample_key}))
            for row in ckpt_store.list_checkpoints(s, self.model_id):
                if row.checkpoint_step < step and row.state_key:
                    stale.append(row.state_key)
                    row.state_key = None
            ckpt_store.save_checkpoint(
                s,
                self.model_id,
                step,
                training_job_id=self.ctx.job_id,
                adapter_key=adapter_key,
                adapter_sha256=adapter_sha256,
                state_key=state_key,
                sample_key=sample_key,
                loss=float(loss),
            )
        return stale

    def _finish(self, plan: Plan, trainer: Any) -> dict[str, Any]:

        step = plan.total_steps
        blobs = self.ctx.blobs
        final_key = rules.final_adapter_key(self.blob_prefix, self.run_id)
        with session_scope(self.ctx.sessions) as s:
            last = ckpt_store.get_checkpoint(s, self.model_id, step)
            if last is None:
                raise RuntimeError(f"no checkpoint at the final step {step}")
            last_key, last_sha256 = last.adapter_key, last.adapter_sha256
        self._check_lease()
        written = [final_key, final_key + ".json"]
        try:
            with blobs.open(last_key) as src:
                blobs.put_file(final_key, src, content_type="application/octet-stream")
            blobs.put(final_key + ".json", blobs.get(last_key + ".json"), "application/json")
            with self._fenced() as s:
                model = model_store.get_model_by_id(s, self.model_id)
                if model is None:
                    raise PermanentJobError(f"model {self.model_id} no longer exists", code=404)
                card: str | None = None
                if model.status == ModelStatus.Stopping:
                    model.status = rules.transition(model.status, ModelStatus.Stopped)
                else:
                    card = self._complete(s, model, plan, trainer, final_key, last_sha256)
        except BaseException:
            self._discard(written)
            raise
        if card is None:  # stopped while finishing: the final files are no model's
            self._discard(written)
            return {"model_id": self.model_id, "status": ModelStatus.Stopped.value}
        # the export is derived from the recorded adapter, so it is written once the record is
        # committed: an attempt that lost the job never gets this far
        write_export_zip(blobs, last_key, rules.export_key(self.blob_prefix, step), card)
        return {"model_id": self.model_id, "status": ModelStatus.Completed.value, "steps": step}

    def _complete(
        self, s: Any, model: Any, plan: Plan, trainer: Any, final_key: str, sha256: str | None
    ) -> str:
        """Mark ``model`` Completed with its final adapter (in the caller's fenced transaction);
        returns the model card of the download."""
        step = plan.total_steps
        images, _ = model_store.count_images(s, model.dataset_id)
        project = model_store.get_project(s, model.organization_id, model.project_id)
        card = rules.model_card_for(
            model,
            project,
            images_count=images,
            base_model=self.base_weights,
            step=step,
            rank=plan.rank,
        )
        model.status = rules.transition(model.status, ModelStatus.Completed)
        model.adapter_key = final_key
        model.adapter_sha256 = sha256
        model.active_model_version = step
        model.training_version = self.family.name
        model.base_weights = self.base_weights
        model.training_progress = rules.training_progress(
            step,
            step,
            loss=trainer.last_loss,
            eta_seconds=0.0,
            sample_keys=self._samples,
            previous=model.training_progress,
            learning_rate=trainer.last_lr,
            elapsed_seconds=self._elapsed(),
            facts=self._progress_facts(),
        )
        return card

    def _set_status(self, target: ModelStatus) -> None:
        with self._fenced() as s:
            model = model_store.get_model_by_id(s, self.model_id)
            if model is not None and model.status == ModelStatus.Stopping:
                model.status = rules.transition(model.status, target)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _device_name(device: str) -> str:
    """The device a run trained on, with the GPU's name on CUDA ("cuda (NVIDIA H100 80GB HBM3)")."""
    if not device.startswith("cuda"):
        return device
    import torch

    try:
        return f"cuda ({torch.cuda.get_device_name(torch.device(device))})"
    except (RuntimeError, AssertionError):
        return "cuda"


def training_cache_root(settings: Any) -> Path:
    """Where a worker keeps the training cache (one directory per dataset)."""
    return Path(settings.home) / "cache" / "training"


def _checkpoint_files(row: Any, *, keep: set[str]) -> list[str]:
    """The files of a checkpoint record (its adapter with the sidecar, state and sample), less ``keep``."""
    keys = [row.adapter_key, row.adapter_key + ".json", row.state_key, row.sample_key]
    return [k for k in keys if k and k not in keep]


def _file_sha256(path: Path) -> str:
    """The adapter's content hash: workers cache loaded adapters by it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
