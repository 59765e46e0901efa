"""ML engine: the FIBO pipeline and adapter cache, the LoRA trainer, the tiny model. torch lives here."""
