"""Integer codes stored in the household and person arrays, and their names."""

from __future__ import annotations

from enum import IntEnum, IntFlag

from sim.config.parameters import instrument_names


class Status(IntEnum):
    NEVER = 0  # never registered
    POOR = 1  # registered, not exited
    EXITED = 2  # exited (脱贫)
    RETURNED = 3  # fell back after exiting (返贫), on the register again


class Health(IntEnum):
    HEALTHY = 0
    CHRONIC = 1
    DISABLED = 2


class Stage(IntEnum):
    NONE = 0  # not in school
    PRESCHOOL = 1
    COMPULSORY = 2
    HIGH = 3
    UNIVERSITY = 4


class Work(IntEnum):
    NONE = 0
    FARM = 1
    LOCAL = 2  # local wage work
    ENTERPRISE = 3  # job in a leading enterprise
    MIGRANT = 4


class Category(IntEnum):
    """Primary measure (五个一批); NONE for households never registered."""

    NONE = -1
    INDUSTRY = 0
    RELOCATION = 1
    MEDICAL = 2
    EDUCATION = 3
    DIBAO = 4


class Cause(IntFlag):
    """Causes of poverty (致贫原因) as bit flags: a household may have several."""

    ILLNESS = 1
    DISABILITY = 2
    SCHOOLING = 4
    DISASTER = 8
    LACK_LAND = 16
    LACK_WATER = 32
    LACK_SKILL = 64
    LACK_LABOUR = 128
    LACK_CAPITAL = 256
    REMOTE = 512
    LACK_MOTIVATION = 1024


class Trigger(IntEnum):
    """What made a household poor this year (a return, or new poverty), asked counterfactually:
    the one loss of the year without which it would have stayed at or above the line
    (docs/ODD.md §7.13). UNSET marks a household with nothing to attribute this year."""

    UNSET = 0  # no return or new poverty this year
    ILLNESS = 1  # new medical cost out of pocket + work lost
    DISASTER = 2  # farm output + this year's return on the assets destroyed
    ENTERPRISE = 3  # contract income and enterprise wages lost with the enterprise
    SUPPORT_ENDED = 4  # drop in programme transfers since last year
    MARKET = 5  # farm and contract income lost to prices below normal
    SEVERAL = 6  # several losses each decisive, or only decisive together
    NONE = 7  # even without all of this year's losses it would be poor (slow decline)


# programme instruments, in the order spending columns and receipt records list them: the
# [instruments.NAME] tables of the parameter defaults (sim/config/parameters/defaults.toml)
INSTRUMENTS = instrument_names()

CATEGORY_NAMES = {c.value: c.name.lower() for c in Category}
STATUS_NAMES = {s.value: s.name.lower() for s in Status}
TRIGGER_NAMES = {t.value: t.name.lower() for t in Trigger}
