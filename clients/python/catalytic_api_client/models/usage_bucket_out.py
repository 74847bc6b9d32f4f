from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="UsageBucketOut")



@_attrs_define
class UsageBucketOut:
    """ 
        Attributes:
            billable_jobs (int): Jobs billed (platform failures are not).
            cpu_compute_ms (int):
            gpu_compute_ms (int):
            jobs (int): Every finished job, billable or not.
            start (datetime.datetime): Start of the UTC bucket.
            vertex_visits (int): Vertex-visits of billable jobs.
     """

    billable_jobs: int
    cpu_compute_ms: int
    gpu_compute_ms: int
    jobs: int
    start: datetime.datetime
    vertex_visits: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        billable_jobs = self.billable_jobs

        cpu_compute_ms = self.cpu_compute_ms

        gpu_compute_ms = self.gpu_compute_ms

        jobs = self.jobs

        start = self.start.isoformat()

        vertex_visits = self.vertex_visits


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "billable_jobs": billable_jobs,
            "cpu_compute_ms": cpu_compute_ms,
            "gpu_compute_ms": gpu_compute_ms,
            "jobs": jobs,
            "start": start,
            "vertex_visits": vertex_visits,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        billable_jobs = d.pop("billable_jobs")

        cpu_compute_ms = d.pop("cpu_compute_ms")

        gpu_compute_ms = d.pop("gpu_compute_ms")

        jobs = d.pop("jobs")

        start = datetime.datetime.fromisoformat(d.pop("start"))




        vertex_visits = d.pop("vertex_visits")

        usage_bucket_out = cls(
            billable_jobs=billable_jobs,
            cpu_compute_ms=cpu_compute_ms,
            gpu_compute_ms=gpu_compute_ms,
            jobs=jobs,
            start=start,
            vertex_visits=vertex_visits,
        )


        usage_bucket_out.additional_properties = d
        return usage_bucket_out

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
