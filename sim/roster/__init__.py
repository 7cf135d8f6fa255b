"""A county's own register (建档立卡 roster): its format, reading it, auditing it, an example
roster, and the model's households and persons built from it (docs/roster.md).

``format`` (columns, Chinese headers, vocabularies), ``read`` (CSV, Excel, Parquet; names never
read, ID numbers hashed), ``audit`` (duplicates, 乱归类, income sums, inclusion candidates, 三保障,
ranges, county totals), ``example`` and ``inject`` (a synthetic roster with known errors),
``population`` (the roster's households, the rest of the county synthesized: the model's
population provider for a scenario with ``roster``).

May import: ``sim.config`` and ``sim.model`` (tables, codes, population steps; the compiled model
only to write an example).
"""
