"""What the LLM is asked for and what we accept back (validated with pydantic before storing).

One call enriches a batch of at most 50 user turns of one bot-day: it returns the facts those
turns state and one summary per user in the batch. Messages are labelled m1..mN and users
u1..uK in the prompt, so the model never sees real ids and can only cite what it was given.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_MESSAGES_PER_CALL = 50
MAX_FACT_CHARS = 300


class Category(StrEnum):
    """The closed set of fact categories, modelled on the seed's fact types."""

    OCCUPATION = "occupation"  # job, role, profession ("works as a nurse")
    EMPLOYER = "employer"  # organisation they work for or study at ("works at St. Mary's")
    EDUCATION = "education"  # studies, degrees, schools
    LOCATION = "location"  # where they live, grew up or come from
    TRAVEL = "travel"  # places visited or being visited
    PET = "pet"  # animals they own, with names and species
    FAMILY = "family"  # relatives, partner, children
    HOBBY = "hobby"  # activities they do for fun, things they are learning
    PREFERENCE = "preference"  # likes, dislikes, favourites, diet
    HEALTH = "health"  # allergies, injuries, conditions
    PLAN = "plan"  # upcoming events, trips, goals
    OTHER = "other"  # a durable personal fact that fits none of the above


CATEGORY_DESCRIPTIONS: dict[Category, str] = {
    Category.OCCUPATION: "job, role or profession",
    Category.EMPLOYER: "organisation they work for or study at",
    Category.EDUCATION: "studies, degrees, schools",
    Category.LOCATION: "where they live, grew up or come from",
    Category.TRAVEL: "places they visited or are visiting",
    Category.PET: "animals they own (species, name)",
    Category.FAMILY: "relatives, partner, children",
    Category.HOBBY: "activities they do for fun or are learning",
    Category.PREFERENCE: "likes, dislikes, favourites, diet",
    Category.HEALTH: "allergies, injuries, conditions",
    Category.PLAN: "upcoming events, trips, goals",
    Category.OTHER: "a durable personal fact that fits no other category",
}


class FactOut(BaseModel):
    """One fact as the LLM returns it."""

    model_config = ConfigDict(extra="ignore")

    message_ids: list[str] = Field(min_length=1, max_length=MAX_MESSAGES_PER_CALL)
    category: Category
    fact: str = Field(min_length=3, max_length=MAX_FACT_CHARS)
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("fact")
    @classmethod
    def _clean(cls, v: str) -> str:
        v = " ".join(v.split())
        if len(v) < 3:
            raise ValueError("fact is empty")
        return v


class SummaryOut(BaseModel):
    """One user's summary: third person, the day's main points, citing the turns it draws on
    (`message_ids`, all of that user; the strict schema requires them, the parser tolerates a model
    that leaves them out, and then the summary cites every turn of the batch)."""

    model_config = ConfigDict(extra="ignore")

    user: str
    summary: str = Field(min_length=10, max_length=2000)
    topics: list[str] = Field(default_factory=list, max_length=12)
    message_ids: list[str] = Field(default_factory=list, max_length=MAX_MESSAGES_PER_CALL)


class BatchOut(BaseModel):
    """The whole answer to one call."""

    model_config = ConfigDict(extra="ignore")

    facts: list[FactOut] = Field(default_factory=list, max_length=200)
    summaries: list[SummaryOut] = Field(default_factory=list)


# Keywords OpenAI's strict structured outputs do not accept (or not everywhere): pydantic still
# checks every one of them on the answer.
_NOT_STRICT = {"default", "title", "description", "minLength", "maxLength", "minItems", "maxItems"}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if k not in _NOT_STRICT}
    if "properties" in node:  # field names, not keywords: keep every one
        out["properties"] = {name: _strict(v) for name, v in node["properties"].items()}
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out["properties"])  # strict mode: every property, always
    return out


def strict_json_schema() -> dict[str, Any]:
    """BatchOut as a strict JSON schema (`response_format` json_schema): every object closed and
    every field required, so the model must cite message ids for facts and summaries alike."""
    return _strict(BatchOut.model_json_schema())


def json_schema_format() -> dict[str, Any]:
    """The `response_format` asking for BatchOut under OpenAI's structured outputs."""
    schema = strict_json_schema()
    return {"type": "json_schema", "json_schema": {"name": "enrichment", "strict": True, "schema": schema}}
