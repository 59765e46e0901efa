"""The worker side: the worker loop, its executors, the process supervisor, and one handler module
per job kind (``worker/handlers/``). Kinds are declared in ``tailor.domain.jobs``; the queue and the
handler contract (``JobContext``) live in ``tailor.jobs``."""
