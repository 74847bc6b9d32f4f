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






T = TypeVar("T", bound="ScheduleRunOut")



@_attrs_define
class ScheduleRunOut:
    """ 
        Attributes:
            manual (bool): `true` for `POST /v1/schedules/{id}/trigger`.
            outcome (str): `submitted`, `skipped_overlap` (the previous job was unfinished),
                `missed` (downtime, by the catch-up policy) or `refused` (the
                template no longer fits the plan, or the tenant is suspended).
            recorded_at (datetime.datetime):
            tick_at (datetime.datetime): The tick (or, for a manual trigger, when it was asked).
            detail (None | str | Unset):
            job_id (None | Unset | UUID):
     """

    manual: bool
    outcome: str
    recorded_at: datetime.datetime
    tick_at: datetime.datetime
    detail: None | str | Unset = UNSET
    job_id: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        manual = self.manual

        outcome = self.outcome

        recorded_at = self.recorded_at.isoformat()

        tick_at = self.tick_at.isoformat()

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        elif isinstance(self.job_id, UUID):
            job_id = str(self.job_id)
        else:
            job_id = self.job_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "manual": manual,
            "outcome": outcome,
            "recorded_at": recorded_at,
            "tick_at": tick_at,
        })
        if detail is not UNSET:
            field_dict["detail"] = detail
        if job_id is not UNSET:
            field_dict["job_id"] = job_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        manual = d.pop("manual")

        outcome = d.pop("outcome")

        recorded_at = datetime.datetime.fromisoformat(d.pop("recorded_at"))




        tick_at = datetime.datetime.fromisoformat(d.pop("tick_at"))




        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))


        def _parse_job_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                job_id_type_0 = UUID(data)



                return job_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        job_id = _parse_job_id(d.pop("job_id", UNSET))


        schedule_run_out = cls(
            manual=manual,
            outcome=outcome,
            recorded_at=recorded_at,
            tick_at=tick_at,
            detail=detail,
            job_id=job_id,
        )


        schedule_run_out.additional_properties = d
        return schedule_run_out

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
