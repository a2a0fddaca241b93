"""``python -m tapegrad`` runs the tapegrad command (see tapegrad.cli)."""

from tapegrad.cli import main

raise SystemExit(main())
