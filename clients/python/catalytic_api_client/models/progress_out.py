from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ProgressOut")



@_attrs_define
class ProgressOut:
    """ A running job's progress: `done` of `total` `unit`s. For a search or
    scan `total` is the operation's estimate, an upper bound (a search that
    meets its target early finishes below it); for a `transform` it is the
    data's element count, reached exactly.

        Attributes:
            done (int):
            total (int):
            unit (str): `vertices` (expanded by the search or scan) or `elements` (of a
                transform's data field).
            updated_at (datetime.datetime): When the worker reported it.
     """

    done: int
    total: int
    unit: str
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        done = self.done

        total = self.total

        unit = self.unit

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "done": done,
            "total": total,
            "unit": unit,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        done = d.pop("done")

        total = d.pop("total")

        unit = d.pop("unit")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        progress_out = cls(
            done=done,
            total=total,
            unit=unit,
            updated_at=updated_at,
        )


        progress_out.additional_properties = d
        return progress_out

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
