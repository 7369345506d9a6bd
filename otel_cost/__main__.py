from __future__ import annotations

from otel_cost.cli import main

raise SystemExit(main())
