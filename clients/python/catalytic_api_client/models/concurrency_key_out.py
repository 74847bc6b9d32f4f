from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ConcurrencyKeyOut")



@_attrs_define
class ConcurrencyKeyOut:
    """ 
        Attributes:
            active_jobs (int): The key's jobs queued or running now (they hold its slots; after a
                lowered limit, possibly more than it until they finish).
            created_at (datetime.datetime):
            key (str): The concurrency key, as submits name it (`concurrency_key`).
            max_concurrency (int): The stored limit: it overrides each job's own `max_concurrency`.
            updated_at (datetime.datetime):
            waiting_jobs (int): The key's jobs waiting for a slot now (those still waiting for
                their parents included).
     """

    active_jobs: int
    created_at: datetime.datetime
    key: str
    max_concurrency: int
    updated_at: datetime.datetime
    waiting_jobs: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        active_jobs = self.active_jobs

        created_at = self.created_at.isoformat()

        key = self.key

        max_concurrency = self.max_concurrency

        updated_at = self.updated_at.isoformat()

        waiting_jobs = self.waiting_jobs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active_jobs": active_jobs,
            "created_at": created_at,
            "key": key,
            "max_concurrency": max_concurrency,
            "updated_at": updated_at,
            "waiting_jobs": waiting_jobs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        active_jobs = d.pop("active_jobs")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        key = d.pop("key")

        max_concurrency = d.pop("max_concurrency")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        waiting_jobs = d.pop("waiting_jobs")

        concurrency_key_out = cls(
            active_jobs=active_jobs,
            created_at=created_at,
            key=key,
            max_concurrency=max_concurrency,
            updated_at=updated_at,
            waiting_jobs=waiting_jobs,
        )


        concurrency_key_out.additional_properties = d
        return concurrency_key_out

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
