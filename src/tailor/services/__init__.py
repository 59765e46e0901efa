"""Use cases, one module per resource. Collaborators are passed in, never looked up."""
