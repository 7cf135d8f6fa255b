"""Plan targets (过头指标): the targets file, its validation, verdicts and plan consistency.

A targets file is TOML with one ``[[target]]`` table per target: a metric at a year, a comparison
and a value (docs/targets.md). Against a batch's results each target gets, per
strategy, the probability that it is met across uncertainty samples and seeds (with a Wilson
interval), a verdict, the level that *is* met with a chosen confidence, and the margin between the
two. "不要提过头指标,要留有余地": a target should be met with room to spare, not on a good day.

Bad files are reported the way scenario files are (one line per problem naming file and field;
``ConfigError``). Relations between targets and with the scenario (contradictions, more exits than
registered households, implausible household sizes — speech 1's data problems) are warnings.

Modules: ``spec`` (a target and its metrics), ``file`` (reading a targets file),
``consistency`` (the plan's warnings), ``verdicts`` (probability, verdict, achievable level),
``evaluation`` (targets against a batch), ``output`` (text, CSVs, figure).
"""
