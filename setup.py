"""The one build step pyproject.toml cannot declare stably: the optional C accelerator of the
warm pricing path (otel_cost/pricing/_speedups.c). Where it cannot be built (no C compiler),
the install goes on and otel-cost prices with the same code in pure Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("otel_cost.pricing._speedups", ["otel_cost/pricing/_speedups.c"], optional=True),
    ],
)
