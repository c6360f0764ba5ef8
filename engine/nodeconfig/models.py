"""Request models of the configuration-file extensions (request_type QingCloud).

DescribeConfiguration and ModifyConfiguration are the reference's own actions
(engine/models/qingcloud.py); these add what a viewer and an editor of the files
need: the list of files, a whole file, a dry run, the history and a restore.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.models.common import JobId, Request, ZoneId

FILE_NAME_DESCRIPTION = "Bare name from the recipe's list of editable files, e.g. server.yaml."


class DescribeConfigurationFilesRequest(Request):
    zone_id: ZoneId | None = Field(default=None, description="With a zone, also list the deployed nodes that hold each file.")


class DescribeConfigurationFileRequest(Request):
    zone_id: ZoneId
    file_name: str = Field(min_length=1, description=FILE_NAME_DESCRIPTION)


class PreviewConfigurationRequest(Request):
    zone_id: ZoneId
    file_name: str = Field(min_length=1, description=FILE_NAME_DESCRIPTION)
    segment: dict[str, Any] = Field(description="Mapping that ModifyConfiguration would deep-merge into the file.")


class RestoreConfigurationRequest(Request):
    job_id: JobId = Field(description="A ModifyConfiguration job whose backups are put back.")


class DescribeConfigurationChangesRequest(Request):
    zone_id: ZoneId | None = Field(default=None, description="Only changes of this zone.")
    file_name: str | None = Field(default=None, min_length=1, description="Only changes of this file.")
    offset: int = Field(default=0, ge=0, description="Changes to skip, newest first.")
    limit: int = Field(default=20, ge=1, le=100, description="Maximum number of changes to return.")
