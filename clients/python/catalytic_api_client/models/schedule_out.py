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
  from ..models.schedule_out_job import ScheduleOutJob





T = TypeVar("T", bound="ScheduleOut")



@_attrs_define
class ScheduleOut:
    """ 
        Attributes:
            catch_up (str):
            created_at (datetime.datetime):
            cron (str):
            id (UUID):
            job (ScheduleOutJob): The template as it was sent.
            name (str):
            next_fire_times (list[datetime.datetime]): The next ticks (up to five; none while paused).
            overlap (str):
            paused (bool):
            timezone (str):
            updated_at (datetime.datetime):
            last_job_id (None | Unset | UUID): The job of the last tick that submitted one.
     """

    catch_up: str
    created_at: datetime.datetime
    cron: str
    id: UUID
    job: ScheduleOutJob
    name: str
    next_fire_times: list[datetime.datetime]
    overlap: str
    paused: bool
    timezone: str
    updated_at: datetime.datetime
    last_job_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.schedule_out_job import ScheduleOutJob # noqa: PLC0415
        catch_up = self.catch_up

        created_at = self.created_at.isoformat()

        cron = self.cron

        id = str(self.id)

        job = self.job.to_dict()

        name = self.name

        next_fire_times = []
        for next_fire_times_item_data in self.next_fire_times:
            next_fire_times_item = next_fire_times_item_data.isoformat()
            next_fire_times.append(next_fire_times_item)



        overlap = self.overlap

        paused = self.paused

        timezone = self.timezone

        updated_at = self.updated_at.isoformat()

        last_job_id: None | str | Unset
        if isinstance(self.last_job_id, Unset):
            last_job_id = UNSET
        elif isinstance(self.last_job_id, UUID):
            last_job_id = str(self.last_job_id)
        else:
            last_job_id = self.last_job_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "catch_up": catch_up,
            "created_at": created_at,
            "cron": cron,
            "id": id,
            "job": job,
            "name": name,
            "next_fire_times": next_fire_times,
            "overlap": overlap,
            "paused": paused,
            "timezone": timezone,
            "updated_at": updated_at,
        })
        if last_job_id is not UNSET:
            field_dict["last_job_id"] = last_job_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.schedule_out_job import ScheduleOutJob # noqa: PLC0415
        d = dict(src_dict)
        catch_up = d.pop("catch_up")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        cron = d.pop("cron")

        id = UUID(d.pop("id"))




        job = ScheduleOutJob.from_dict(d.pop("job"))




        name = d.pop("name")

        next_fire_times = []
        _next_fire_times = d.pop("next_fire_times")
        for next_fire_times_item_data in (_next_fire_times):
            next_fire_times_item = datetime.datetime.fromisoformat(next_fire_times_item_data)



            next_fire_times.append(next_fire_times_item)


        overlap = d.pop("overlap")

        paused = d.pop("paused")

        timezone = d.pop("timezone")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        def _parse_last_job_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_job_id_type_0 = UUID(data)



                return last_job_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        last_job_id = _parse_last_job_id(d.pop("last_job_id", UNSET))


        schedule_out = cls(
            catch_up=catch_up,
            created_at=created_at,
            cron=cron,
            id=id,
            job=job,
            name=name,
            next_fire_times=next_fire_times,
            overlap=overlap,
            paused=paused,
            timezone=timezone,
            updated_at=updated_at,
            last_job_id=last_job_id,
        )


        schedule_out.additional_properties = d
        return schedule_out

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
