"""Image-to-video: the Wan pipeline (or its tiny twin), clip sizes and frame counts, MP4 encoding."""
