"""Subcommands of the ``otel-cost`` CLI, one module each (see ``otel_cost.cli``)."""
