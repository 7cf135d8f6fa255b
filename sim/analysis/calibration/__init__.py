"""Calibration report: the county's simulated values beside the facts the model can reproduce.

``python -m sim.analysis.calibration`` (or ``make calibration``) runs the seed county under ``status_quo``,
``precision`` and ``blood_making`` for a few seeds, records the quantities that official figures
describe (share of registered households with illness as a cause, income of the registered poor,
out-of-pocket medical share, hospital admission rates, catastrophic health spending, microcredit
take-up, income of relocated households, the poverty line) and writes ``docs/calibration.md``:
each fact beside the simulated mean and range over seeds, a verdict, the parameters that were set
by hand or copied from a fact, and for every fact one parameter that moves it with its measured
effect. The report is generated so that it stays true as the model changes: never edit it by
hand.

The functions are importable so that tests can run them on a scaled-down county
(:func:`sim.analysis.calibration.runs.scaled_overrides`).

Modules: ``facts`` (the official facts and hand-set parameters), ``runs`` (the calibration runs
and what they measure), ``rendering`` (docs/calibration.md), ``__main__`` (the command).
"""
