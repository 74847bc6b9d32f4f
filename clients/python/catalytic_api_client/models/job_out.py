from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.job_out_error_type_0 import JobOutErrorType0
  from ..models.job_out_request import JobOutRequest
  from ..models.job_out_result_type_0 import JobOutResultType0
  from ..models.progress_out import ProgressOut





T = TypeVar("T", bound="JobOut")



@_attrs_define
class JobOut:
    """ A job as its tenant sees it.

        Attributes:
            attempt (int): The current (or last) attempt, from 1.
            created_at (datetime.datetime):
            id (UUID):
            max_attempts (int):
            operation (str):
            request (JobOutRequest): The validated request, in the shape a submit takes (it can be sent
                again as it is): `lattice` {size, wrap, blocked}, `operation`, `params`.
            status (str): `scheduled` (waiting for `run_at`), `waiting` (for its parents or a
                concurrency slot), `queued`, `running`, `succeeded`, `failed` or
                `cancelled`.
            updated_at (datetime.datetime):
            depends_on (list[UUID] | Unset): Its parent jobs (`depends_on`), when it has any.
            error (JobOutErrorType0 | None | Unset): Present when `failed` (and after a retried attempt).
            finished_at (datetime.datetime | None | Unset):
            progress (None | ProgressOut | Unset):
            result (JobOutResultType0 | None | Unset): Present when `succeeded`. For `shortest_path`: `reachable`, `length`,
                `path` (coordinates from start to end), `vertices_visited`, `engine`.
            result_expires_at (datetime.datetime | None | Unset): With `result_ttl_secs`, once succeeded: when the full
                result goes
                (a summary stays: `{"pruned": true, …}`).
            result_ttl_secs (int | None | Unset): How long after finishing it keeps its full result, when the submit
                said (`result_ttl_secs`); absent: the fleet's default, 7 days.
            run_at (datetime.datetime | None | Unset): When the submit asked it to run (`run_at` or `delay_secs`); absent
                for a job queued at once.
            started_at (datetime.datetime | None | Unset):
     """

    attempt: int
    created_at: datetime.datetime
    id: UUID
    max_attempts: int
    operation: str
    request: JobOutRequest
    status: str
    updated_at: datetime.datetime
    depends_on: list[UUID] | Unset = UNSET
    error: JobOutErrorType0 | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    progress: None | ProgressOut | Unset = UNSET
    result: JobOutResultType0 | None | Unset = UNSET
    result_expires_at: datetime.datetime | None | Unset = UNSET
    result_ttl_secs: int | None | Unset = UNSET
    run_at: datetime.datetime | None | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.job_out_error_type_0 import JobOutErrorType0 # noqa: PLC0415
        from ..models.job_out_request import JobOutRequest # noqa: PLC0415
        from ..models.job_out_result_type_0 import JobOutResultType0 # noqa: PLC0415
        from ..models.progress_out import ProgressOut # noqa: PLC0415
        attempt = self.attempt

        created_at = self.created_at.isoformat()

        id = str(self.id)

        max_attempts = self.max_attempts

        operation = self.operation

        request = self.request.to_dict()

        status = self.status

        updated_at = self.updated_at.isoformat()

        depends_on: list[str] | Unset = UNSET
        if not isinstance(self.depends_on, Unset):
            depends_on = []
            for depends_on_item_data in self.depends_on:
                depends_on_item = str(depends_on_item_data)
                depends_on.append(depends_on_item)



        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, JobOutErrorType0):
            error = self.error.to_dict()
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, ProgressOut):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, JobOutResultType0):
            result = self.result.to_dict()
        else:
            result = self.result

        result_expires_at: None | str | Unset
        if isinstance(self.result_expires_at, Unset):
            result_expires_at = UNSET
        elif isinstance(self.result_expires_at, datetime.datetime):
            result_expires_at = self.result_expires_at.isoformat()
        else:
            result_expires_at = self.result_expires_at

        result_ttl_secs: int | None | Unset
        if isinstance(self.result_ttl_secs, Unset):
            result_ttl_secs = UNSET
        else:
            result_ttl_secs = self.result_ttl_secs

        run_at: None | str | Unset
        if isinstance(self.run_at, Unset):
            run_at = UNSET
        elif isinstance(self.run_at, datetime.datetime):
            run_at = self.run_at.isoformat()
        else:
            run_at = self.run_at

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempt": attempt,
            "created_at": created_at,
            "id": id,
            "max_attempts": max_attempts,
            "operation": operation,
            "request": request,
            "status": status,
            "updated_at": updated_at,
        })
        if depends_on is not UNSET:
            field_dict["depends_on"] = depends_on
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if progress is not UNSET:
            field_dict["progress"] = progress
        if result is not UNSET:
            field_dict["result"] = result
        if result_expires_at is not UNSET:
            field_dict["result_expires_at"] = result_expires_at
        if result_ttl_secs is not UNSET:
            field_dict["result_ttl_secs"] = result_ttl_secs
        if run_at is not UNSET:
            field_dict["run_at"] = run_at
        if started_at is not UNSET:
            field_dict["started_at"] = started_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_out_error_type_0 import JobOutErrorType0 # noqa: PLC0415
        from ..models.job_out_request import JobOutRequest # noqa: PLC0415
        from ..models.job_out_result_type_0 import JobOutResultType0 # noqa: PLC0415
        from ..models.progress_out import ProgressOut # noqa: PLC0415
        d = dict(src_dict)
        attempt = d.pop("attempt")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        max_attempts = d.pop("max_attempts")

        operation = d.pop("operation")

        request = JobOutRequest.from_dict(d.pop("request"))




        status = d.pop("status")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        _depends_on = d.pop("depends_on", UNSET)
        depends_on: list[UUID] | Unset = UNSET
        if _depends_on is not UNSET:
            depends_on = []
            for depends_on_item_data in _depends_on:
                depends_on_item = UUID(depends_on_item_data)



                depends_on.append(depends_on_item)


        def _parse_error(data: object) -> JobOutErrorType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobOutErrorType0.from_dict(data)



                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobOutErrorType0 | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)



                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        def _parse_progress(data: object) -> None | ProgressOut | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = ProgressOut.from_dict(data)



                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProgressOut | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))


        def _parse_result(data: object) -> JobOutResultType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = JobOutResultType0.from_dict(data)



                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobOutResultType0 | None | Unset, data)

        result = _parse_result(d.pop("result", UNSET))


        def _parse_result_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                result_expires_at_type_0 = datetime.datetime.fromisoformat(data)



                return result_expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        result_expires_at = _parse_result_expires_at(d.pop("result_expires_at", UNSET))


        def _parse_result_ttl_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        result_ttl_secs = _parse_result_ttl_secs(d.pop("result_ttl_secs", UNSET))


        def _parse_run_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                run_at_type_0 = datetime.datetime.fromisoformat(data)



                return run_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        run_at = _parse_run_at(d.pop("run_at", UNSET))


        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)



                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))


        job_out = cls(
            attempt=attempt,
            created_at=created_at,
            id=id,
            max_attempts=max_attempts,
            operation=operation,
            request=request,
            status=status,
            updated_at=updated_at,
            depends_on=depends_on,
            error=error,
            finished_at=finished_at,
            progress=progress,
            result=result,
            result_expires_at=result_expires_at,
            result_ttl_secs=result_ttl_secs,
            run_at=run_at,
            started_at=started_at,
        )


        job_out.additional_properties = d
        return job_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
