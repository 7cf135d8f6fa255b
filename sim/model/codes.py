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
    """Main trigger of a return to poverty: the largest loss this year."""

    NONE = 0
    ILLNESS = 1
    DISASTER = 2
    ENTERPRISE = 3
    SUPPORT_ENDED = 4
    MARKET = 5
    OTHER = 6


# programme instruments, in the order spending columns and receipt records list them: the
# [instruments.NAME] tables of the parameter defaults (sim/config/parameters/defaults.toml)
INSTRUMENTS = instrument_names()

CATEGORY_NAMES = {c.value: c.name.lower() for c in Category}
STATUS_NAMES = {s.value: s.name.lower() for s in Status}
TRIGGER_NAMES = {t.value: t.name.lower() for t in Trigger}
