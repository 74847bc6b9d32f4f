from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="DeletionOut")



@_attrs_define
class DeletionOut:
    """ 
        Attributes:
            erase_at (datetime.datetime): When the scheduler erases the tenant (requested_at + 7 days).
            requested_at (datetime.datetime):
     """

    erase_at: datetime.datetime
    requested_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        erase_at = self.erase_at.isoformat()

        requested_at = self.requested_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "erase_at": erase_at,
            "requested_at": requested_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        erase_at = datetime.datetime.fromisoformat(d.pop("erase_at"))




        requested_at = datetime.datetime.fromisoformat(d.pop("requested_at"))




        deletion_out = cls(
            erase_at=erase_at,
            requested_at=requested_at,
        )


        deletion_out.additional_properties = d
        return deletion_out

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
