from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="InvoiceLineOut")



@_attrs_define
class InvoiceLineOut:
    """ 
        Attributes:
            amount_cents (int): Rounded once per line, in cents.
            description (str):
            kind (str): `base`, `overage`, `compute_cpu`, `compute_gpu` or `adjustment`.
            quantity (int): Seconds billed (base), jobs (overage), vertex-visits (CPU),
                milliseconds (GPU), 1 (adjustment).
     """

    amount_cents: int
    description: str
    kind: str
    quantity: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount_cents = self.amount_cents

        description = self.description

        kind = self.kind

        quantity = self.quantity


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount_cents": amount_cents,
            "description": description,
            "kind": kind,
            "quantity": quantity,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount_cents = d.pop("amount_cents")

        description = d.pop("description")

        kind = d.pop("kind")

        quantity = d.pop("quantity")

        invoice_line_out = cls(
            amount_cents=amount_cents,
            description=description,
            kind=kind,
            quantity=quantity,
        )


        invoice_line_out.additional_properties = d
        return invoice_line_out

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
