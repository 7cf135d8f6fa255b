"""Analysis of batch results: outcomes per run, comparison, targets, discovery, sensitivity,
calibration, validation, figures and the report.

- ``outcomes``: each run's outcomes (``METRIC@YEAR`` or whole-run) and paired differences;
  what an outcome *is* (unit, direction, definition) is the registry ``sim.model.outputs``;
- ``compare``: levels and paired differences per lever combination (``povsim compare``);
- ``targets/``: plan targets, their verdicts and the plan's consistency (``povsim targets``);
- ``discovery``: PRIM boxes of the conditions under which a target fails (``povsim discover``);
- ``sensitivity/``: Morris and Sobol' studies (``povsim sensitivity``);
- ``calibration/``: the seed county beside the official facts (docs/calibration.md);
- ``validation/``: the model checked against stylized facts and official figures
  (docs/validation.md);
- ``plots/`` and ``report/``: the figures and the report of a batch;
- ``files``: CSV tables and file-name-safe names; ``docs_tables``: generated tables in docs/.

May import: ``sim.batch``, ``sim.model`` (its pure-data modules: analysis must not load numba),
``sim.policies``, ``sim.config``. Never ``sim.cli``.
"""
