"""Pieces every request and response model shares: public parameters, ids."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NODE_ID_PATTERN = r"^n-[A-Za-z0-9]{4,32}$"
JOB_ID_PATTERN = r"^j-[A-Za-z0-9]{8}$"
ZONE_ID_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"

NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
JobId = Annotated[str, StringConstraints(pattern=JOB_ID_PATTERN)]
ZoneId = Annotated[str, StringConstraints(pattern=ZONE_ID_PATTERN)]


class Request(BaseModel):
    """Public parameters of every call. Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)

    action: str = Field(description="API action, e.g. DescribeQingCloud.")
    request_type: str = Field(description="QingCloud for the reference's actions; Node or Job for the extensions.")
    USER_ID: str | None = Field(default=None, description="User id; not needed for in-process calls.")
    PASSWORD: str | None = Field(
        default=None, repr=False, description="Base64 of the user's password; not needed for in-process calls."
    )


class Response(BaseModel):
    """Public fields of every response."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(description="The request's action plus 'Response'.")
    ret_code: int = Field(default=0, description="0 on success, else an error family code.")


class ErrorResponse(Response):
    message: str = Field(description="One sentence naming the parameter or resource at fault.")


class JobResponse(Response):
    job_id: str = Field(description="Id of the job that carries out the action.")


def describe(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop None values so optional extensions stay absent rather than null."""
    return {key: value for key, value in fields.items() if value is not None}
