"""Batches: experiment files (levers × uncertainty samples × paired seeds), the runner (in this
process, local worker processes or a Dask cluster), the results store, and the limits checked
before any run.

May import: ``sim.model``, ``sim.policies``, ``sim.config``. Never ``sim.analysis`` or ``sim.cli``.
"""
