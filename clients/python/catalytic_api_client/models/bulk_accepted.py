from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.bulk_item import BulkItem





T = TypeVar("T", bound="BulkAccepted")



@_attrs_define
class BulkAccepted:
    """ The answer to a bulk submit: one result per item, in order.

        Attributes:
            accepted (int): Items accepted (each has an `id`), including those answered with an
                existing job (`existing: true`).
            refused (int): Items refused (each has an `error`).
            results (list[BulkItem]):
     """

    accepted: int
    refused: int
    results: list[BulkItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bulk_item import BulkItem # noqa: PLC0415
        accepted = self.accepted

        refused = self.refused

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "accepted": accepted,
            "refused": refused,
            "results": results,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bulk_item import BulkItem # noqa: PLC0415
        d = dict(src_dict)
        accepted = d.pop("accepted")

        refused = d.pop("refused")

        results = []
        _results = d.pop("results")
        for results_item_data in (_results):
            results_item = BulkItem.from_dict(results_item_data)



            results.append(results_item)


        bulk_accepted = cls(
            accepted=accepted,
            refused=refused,
            results=results,
        )


        bulk_accepted.additional_properties = d
        return bulk_accepted

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
