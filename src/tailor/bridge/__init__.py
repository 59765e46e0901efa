"""The VLM bridge: structured prompts, visual schemas, captions and refinement, over providers."""

import os

# litellm (imported by bria-vgl and our provider) fetches a price map at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
