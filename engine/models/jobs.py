"""Request and response models of the Job extension (request_type Job)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.models.common import JobId, Request, Response


class JobInfo(BaseModel):
    job_id: str
    job_action: str
    job_type: str = Field(description="'async' for every job of this installer.")
    owner: str = Field(description="User who started the job; 'local' for in-process calls.")
    status: str
    pre_status: str
    create_time: str
    update_time: str
    resources: dict[str, Any] = Field(description="node_ids, zone_ids, and after a deploy vbc_route and hosts.")


class DescribeJobsRequest(Request):
    job_ids: list[JobId] | None = Field(default=None, description="Jobs to describe.")
    job_action: str | None = Field(default=None, description="Only jobs of this action.")
    status: str | None = Field(default=None, description="Only jobs in this status.")
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


class DescribeJobsResponse(Response):
    job_set: list[JobInfo]
    total_count: int


class DescribeLatestJobRequest(Request):
    job_action: str | None = Field(default=None, description="Newest job of this action; of any action when absent.")


class DescribeLatestJobResponse(Response):
    job: JobInfo | None
