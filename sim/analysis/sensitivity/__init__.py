"""Global sensitivity analysis of an experiment's factors: Morris screening and Sobol' indices
(SALib), run through the batch runner, with the model's own randomness kept apart.

The experiment file's uncertainties (and, on request, its numeric levers) are the factors. SALib
draws the design matrix; each row becomes one uncertainty sample of a batch design, which the
batch runner runs under every strategy of the experiment and every replication seed (the same
seeds for every row and every strategy, so strategies can be paired and so that a factor that
changes nothing changes no number at all). The analysis works on the **seed mean** of each
row and reports separately how much of an outcome's variance is seed noise, so that noise is
never credited to a factor.

Outputs, under ``RESULTS/sensitivity/`` (the batch itself is ``RESULTS/``): ``indices.csv``
(outcome, factor, method, index, value, conf_low, conf_high), ``noise.csv``,
``noise_factors.csv``, ``factors.csv``, ``samples.csv``, ``design.json`` and
``figures/<method>_<outcome>.png``. ``povsim report`` reads ``indices.csv`` and the figures;
keep that contract. See docs/sensitivity.md.

Modules: ``design`` (factors, the SALib design and the run count it implies), ``outcomes``
(what is analysed), ``indices`` (Morris and Sobol' indices, seed noise), ``study`` (prepare,
run, analyse, write; resumes add outcomes, files are written atomically), ``output`` (figures
and the printed table). This package re-exports the names the CLI, the tests and
docs/sensitivity.md use.
"""

from sim.analysis.sensitivity.design import (
    AnalysisError,
    Factor,
    Plan,
    evaluate_function,
    factor_from_distribution,
    lever_factor,
    make_plan,
)
from sim.analysis.sensitivity.indices import INDEX_COLUMNS, Analysis, analyse, elementary_effects
from sim.analysis.sensitivity.outcomes import OutcomeSpec
from sim.analysis.sensitivity.output import format_analysis
from sim.analysis.sensitivity.study import (
    Study,
    StudyRun,
    analyse_study,
    prepare_study,
    run_study,
)

__all__ = [
    "INDEX_COLUMNS",
    "Analysis",
    "AnalysisError",
    "Factor",
    "OutcomeSpec",
    "Plan",
    "Study",
    "StudyRun",
    "analyse",
    "analyse_study",
    "elementary_effects",
    "evaluate_function",
    "factor_from_distribution",
    "format_analysis",
    "lever_factor",
    "make_plan",
    "prepare_study",
    "run_study",
]
