#!/usr/bin/env bash
# Regenerate versions/0001_initial.py from store/tables.py (allowed only while nothing is released).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/tailor/store/migrations/versions/0001_initial.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from tailor.store.migrate import alembic_config
cfg = alembic_config(f"sqlite:///{sys.argv[1]}/empty.db")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
mv src/tailor/store/migrations/versions/0001_*.py src/tailor/store/migrations/versions/0001_initial.py
.venv/bin/ruff format -q src/tailor/store/migrations/versions/0001_initial.py
.venv/bin/ruff check -q --fix src/tailor/store/migrations/versions/0001_initial.py || true
rm -rf "$tmp"
echo "regenerated src/tailor/store/migrations/versions/0001_initial.py"
