"""The web console at /console: templates and static assets served by Tailor (no build step, no CDN)."""
