from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ScalingOut")



@_attrs_define
class ScalingOut:
    """ 
        Attributes:
            class_ (str): `low`, `standard`, `high`, `gpu`, or `all` (the fleet's desired size).
            computed_at (datetime.datetime):
            desired_workers (int):
            finished_last_minute (int): Jobs of this class that finished (any outcome) in the last minute,
                read now (not as of `computed_at`): the rate the queue drains.
            oldest_queued_secs (float):
            ready_messages (int):
            running_jobs (int):
     """

    class_: str
    computed_at: datetime.datetime
    desired_workers: int
    finished_last_minute: int
    oldest_queued_secs: float
    ready_messages: int
    running_jobs: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        class_ = self.class_

        computed_at = self.computed_at.isoformat()

        desired_workers = self.desired_workers

        finished_last_minute = self.finished_last_minute

        oldest_queued_secs = self.oldest_queued_secs

        ready_messages = self.ready_messages

        running_jobs = self.running_jobs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "class": class_,
            "computed_at": computed_at,
            "desired_workers": desired_workers,
            "finished_last_minute": finished_last_minute,
            "oldest_queued_secs": oldest_queued_secs,
            "ready_messages": ready_messages,
            "running_jobs": running_jobs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        class_ = d.pop("class")

        computed_at = datetime.datetime.fromisoformat(d.pop("computed_at"))




        desired_workers = d.pop("desired_workers")

        finished_last_minute = d.pop("finished_last_minute")

        oldest_queued_secs = d.pop("oldest_queued_secs")

        ready_messages = d.pop("ready_messages")

        running_jobs = d.pop("running_jobs")

        scaling_out = cls(
            class_=class_,
            computed_at=computed_at,
            desired_workers=desired_workers,
            finished_last_minute=finished_last_minute,
            oldest_queued_secs=oldest_queued_secs,
            ready_messages=ready_messages,
            running_jobs=running_jobs,
        )


        scaling_out.additional_properties = d
        return scaling_out

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
