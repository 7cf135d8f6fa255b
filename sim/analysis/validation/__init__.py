"""Validation report: the model checked against stylized facts and official figures.

``python -m sim.analysis.validation`` (``make validation``) runs the seed county under the
strategies the checks need for three seeds, measures each check (the income trajectory of the
registered poor, the poverty trap, labour supply under transfers, household debt, returns and
their triggers, health figures, equal spending, the money ledger) and writes
``docs/validation.md``: the fact, its source, the model's mean and range over seeds, the
tolerance and a verdict. A check whose output does not exist in the model is reported as "not
measured" rather than failing, so the report works while mechanisms are added.

Modules: ``runs`` (the runs and what they record), ``checks`` (the facts and how each is
measured and judged), ``rendering`` (docs/validation.md), ``__main__`` (the command).
"""
