"""LoRA fine-tuning of FIBO: data and latent cache, the trainer, checkpoints, export, job handler."""
