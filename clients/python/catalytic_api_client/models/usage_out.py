from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.usage_bucket_out import UsageBucketOut





T = TypeVar("T", bound="UsageOut")



@_attrs_define
class UsageOut:
    """ 
        Attributes:
            buckets (list[UsageBucketOut]): Buckets with usage, oldest first (empty buckets are omitted).
            from_ (datetime.datetime):
            granularity (str):
            stored_result_bytes (int): Stored result parts now (full answers beyond the inline caps,
                compressed), whatever the range, and the plan's cap on them.
            stored_result_limit_bytes (int):
            to (datetime.datetime):
     """

    buckets: list[UsageBucketOut]
    from_: datetime.datetime
    granularity: str
    stored_result_bytes: int
    stored_result_limit_bytes: int
    to: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.usage_bucket_out import UsageBucketOut # noqa: PLC0415
        buckets = []
        for buckets_item_data in self.buckets:
            buckets_item = buckets_item_data.to_dict()
            buckets.append(buckets_item)



        from_ = self.from_.isoformat()

        granularity = self.granularity

        stored_result_bytes = self.stored_result_bytes

        stored_result_limit_bytes = self.stored_result_limit_bytes

        to = self.to.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "buckets": buckets,
            "from": from_,
            "granularity": granularity,
            "stored_result_bytes": stored_result_bytes,
            "stored_result_limit_bytes": stored_result_limit_bytes,
            "to": to,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.usage_bucket_out import UsageBucketOut # noqa: PLC0415
        d = dict(src_dict)
        buckets = []
        _buckets = d.pop("buckets")
        for buckets_item_data in (_buckets):
            buckets_item = UsageBucketOut.from_dict(buckets_item_data)



            buckets.append(buckets_item)


        from_ = datetime.datetime.fromisoformat(d.pop("from"))




        granularity = d.pop("granularity")

        stored_result_bytes = d.pop("stored_result_bytes")

        stored_result_limit_bytes = d.pop("stored_result_limit_bytes")

        to = datetime.datetime.fromisoformat(d.pop("to"))




        usage_out = cls(
            buckets=buckets,
            from_=from_,
            granularity=granularity,
            stored_result_bytes=stored_result_bytes,
            stored_result_limit_bytes=stored_result_limit_bytes,
            to=to,
        )


        usage_out.additional_properties = d
        return usage_out

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
