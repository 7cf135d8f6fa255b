"""The roster format: one row per person, the household's fields repeated on each member's row
and joined by the household key (docs/roster.md). Each column has an English name, its usual
Chinese headers, a kind, whether it is required and, for numbers, the range the audit accepts.

Names (姓名) are not columns of the format: a reader never asks for them. ID numbers are read
only to find duplicates, and only as salted hashes (sim.roster.read).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.model.codes import Category, Cause, Health, Stage, Status, Work

HOUSEHOLD, PERSON = "household", "person"
TEXT, INT, FLOAT, CODE, CODES, FLAG, SECRET = (
    "text",
    "int",
    "float",
    "code",
    "codes",
    "flag",
    "secret",
)


@dataclass(frozen=True)
class Column:
    name: str  # the English header, and the name used everywhere in povsim
    zh: tuple[str, ...]  # Chinese headers, the first one written by `povsim roster example`
    level: str  # HOUSEHOLD (same on every member's row) or PERSON
    kind: str
    required: bool = False
    low: float | None = None  # the audit's range (out_of_range), inclusive
    high: float | None = None
    codes: str | None = None  # the vocabulary of a CODE or CODES column (VOCABULARIES)
    description: str = ""


YUAN = "yuan per household per year"
MONEY_MAX = 1e7  # ten million yuan a year: beyond any rural household's single income source

COLUMNS: tuple[Column, ...] = (
    Column("household_id", ("户编号", "户码"), HOUSEHOLD, TEXT, True, description="household key"),
    Column("town", ("乡镇", "乡(镇)"), HOUSEHOLD, TEXT, description="town; reported, not modelled"),
    Column("village", ("行政村", "村"), HOUSEHOLD, TEXT, True, description="village name"),
    Column("size", ("家庭人口", "家庭人口数"), HOUSEHOLD, INT, low=1, high=30),
    Column("registered_year", ("识别年度", "建档立卡年度"), HOUSEHOLD, INT, low=1990, high=2100),
    Column("status", ("贫困户状态", "脱贫状态"), HOUSEHOLD, CODE, codes="status"),
    Column("category", ("帮扶类别",), HOUSEHOLD, CODE, True, codes="category"),
    Column("primary_cause", ("主要致贫原因", "致贫原因"), HOUSEHOLD, CODE, True, codes="cause"),
    Column("other_causes", ("其他致贫原因",), HOUSEHOLD, CODES, codes="cause"),
    Column("inc_farm", ("种植业收入",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("inc_livestock", ("养殖业收入",), HOUSEHOLD, FLOAT, low=-MONEY_MAX, high=MONEY_MAX),
    Column("inc_wage", ("本地务工收入", "工资性收入"), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("inc_migrant", ("外出务工收入",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("inc_business", ("生产经营性收入",), HOUSEHOLD, FLOAT, low=-MONEY_MAX, high=MONEY_MAX),
    Column("inc_property", ("财产性收入",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("inc_transfers", ("转移性收入",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("cost_production", ("生产经营支出",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("sp_medical", ("医疗支出",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("sp_schooling", ("教育支出",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("sp_debt_service", ("债务利息支出",), HOUSEHOLD, FLOAT, low=0, high=MONEY_MAX),
    Column("income_pc", ("人均纯收入",), HOUSEHOLD, FLOAT, low=-MONEY_MAX, high=MONEY_MAX),
    Column("house_safe", ("住房安全",), HOUSEHOLD, FLAG),
    Column("insured", ("参加医疗保险", "参加新农合"), HOUSEHOLD, FLAG),
    Column("land", ("耕地面积",), HOUSEHOLD, FLOAT, low=0, high=1000),
    Column("dibao", ("享受低保",), HOUSEHOLD, FLAG),
    Column("id_number", ("身份证号", "证件号码"), PERSON, SECRET, description="hashed, never kept"),
    Column("age", ("年龄",), PERSON, INT, True, low=0, high=120),
    Column("sex", ("性别",), PERSON, CODE, codes="sex"),
    Column("health", ("健康状况",), PERSON, CODE, codes="health"),
    Column("disabled", ("是否残疾",), PERSON, FLAG),
    Column("stage", ("在校生状况",), PERSON, CODE, codes="stage"),
    Column("edu_years", ("受教育年限",), PERSON, INT, low=0, high=22),
    Column("work", ("务工状况",), PERSON, CODE, codes="work"),
)
BY_NAME = {c.name: c for c in COLUMNS}
INCOME = ("inc_farm", "inc_livestock", "inc_wage", "inc_migrant", "inc_business")
INCOME += ("inc_property", "inc_transfers")
COSTS = ("cost_production", "sp_medical", "sp_schooling", "sp_debt_service")


def _names(enum, extra: dict[str, str]) -> dict[str, int]:
    out = {m.name.lower(): int(m) for m in enum}
    return out | {k: int(getattr(enum, v)) for k, v in extra.items()}


# every accepted spelling (case-insensitive, trimmed) of a coded value: English names are the
# codes' own (sim.model.codes), Chinese ones the 建档立卡 system's usual wording
VOCABULARIES: dict[str, dict[str, int]] = {
    "category": _names(
        Category,
        {
            "发展产业": "INDUSTRY",
            "产业扶持": "INDUSTRY",
            "发展生产": "INDUSTRY",
            "易地搬迁": "RELOCATION",
            "易地扶贫搬迁": "RELOCATION",
            "医疗救助": "MEDICAL",
            "健康扶贫": "MEDICAL",
            "发展教育": "EDUCATION",
            "教育扶贫": "EDUCATION",
            "社保兜底": "DIBAO",
            "社会保障兜底": "DIBAO",
            "低保兜底": "DIBAO",
        },
    ),
    "cause": _names(
        Cause,
        {
            "因病": "ILLNESS",
            "因残": "DISABILITY",
            "因学": "SCHOOLING",
            "因灾": "DISASTER",
            "缺土地": "LACK_LAND",
            "缺水": "LACK_WATER",
            "缺技术": "LACK_SKILL",
            "缺劳力": "LACK_LABOUR",
            "缺劳动力": "LACK_LABOUR",
            "缺资金": "LACK_CAPITAL",
            "交通条件落后": "REMOTE",
            "交通落后": "REMOTE",
            "自身发展动力不足": "LACK_MOTIVATION",
        },
    ),
    "status": _names(Status, {"未脱贫": "POOR", "已脱贫": "EXITED", "返贫": "RETURNED"}),
    "health": _names(
        Health,
        {
            "健康": "HEALTHY",
            "长期慢性病": "CHRONIC",
            "患有大病": "CHRONIC",
            "慢性病": "CHRONIC",
            "残疾": "DISABLED",
        },
    ),
    "stage": _names(
        Stage,
        {
            "非在校生": "NONE",
            "不在校": "NONE",
            "学前教育": "PRESCHOOL",
            "义务教育": "COMPULSORY",
            "高中": "HIGH",
            "中职": "HIGH",
            "高中/中职": "HIGH",
            "大学": "UNIVERSITY",
            "大专及以上": "UNIVERSITY",
        },
    ),
    "work": _names(
        Work,
        {
            "无": "NONE",
            "务农": "FARM",
            "本地务工": "LOCAL",
            "乡内务工": "LOCAL",
            "企业务工": "ENTERPRISE",
            "外出务工": "MIGRANT",
            "县外务工": "MIGRANT",
        },
    ),
    "sex": {"male": 0, "female": 1, "m": 0, "f": 1, "男": 0, "女": 1},
    "flag": {
        "yes": 1,
        "no": 0,
        "true": 1,
        "false": 0,
        "1": 1,
        "0": 0,
        "y": 1,
        "n": 0,
        "是": 1,
        "否": 0,
    },
}
# a roster lists registered households: never-registered and "no category" are not values
del VOCABULARIES["status"]["never"], VOCABULARIES["category"]["none"]
# the Chinese value `povsim roster example` writes for each code
CHINESE: dict[str, dict[int, str]] = {
    vocab: {v: k for k, v in reversed(words.items()) if not k.isascii()}
    for vocab, words in VOCABULARIES.items()
}

# The causes each measure serves (五个一批): production for households that can work and lack
# capital, skills, land or water; relocation where the place cannot support them; medical aid
# for illness; education for school costs; social security for those who cannot work.
CATEGORY_CAUSES: dict[int, int] = {
    int(Category.INDUSTRY): int(
        Cause.LACK_CAPITAL
        | Cause.LACK_SKILL
        | Cause.LACK_LAND
        | Cause.LACK_WATER
        | Cause.LACK_MOTIVATION
    ),
    int(Category.RELOCATION): int(Cause.REMOTE | Cause.DISASTER | Cause.LACK_WATER),
    int(Category.MEDICAL): int(Cause.ILLNESS),
    int(Category.EDUCATION): int(Cause.SCHOOLING),
    int(Category.DIBAO): int(Cause.LACK_LABOUR | Cause.DISABILITY | Cause.ILLNESS),
}


def aliases() -> dict[str, str]:
    """Every accepted header (trimmed, lower-case) → the column's English name."""
    out = {}
    for c in COLUMNS:
        for header in (c.name, *c.zh):
            out[header.strip().lower()] = c.name
    return out


def label(name: str) -> str:
    """How a message names a column: ``age (年龄)``."""
    c = BY_NAME[name]
    return f"{c.name} ({c.zh[0]})"
