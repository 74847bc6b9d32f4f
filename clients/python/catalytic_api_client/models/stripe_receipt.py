from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="StripeReceipt")



@_attrs_define
class StripeReceipt:
    """ 
        Attributes:
            duplicate (bool): True when this event id had already been processed (nothing changed).
            id (str): The Stripe event id.
            outcome (str): What the event did: `linked`, `plan_changed`, `plan_unchanged`,
                `payment_failed`, `suspended`, `paid`, `unsuspended`,
                `unknown_customer`, `unknown_tenant`, `customer_taken`, `ignored`.
     """

    duplicate: bool
    id: str
    outcome: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        duplicate = self.duplicate

        id = self.id

        outcome = self.outcome


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "duplicate": duplicate,
            "id": id,
            "outcome": outcome,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        duplicate = d.pop("duplicate")

        id = d.pop("id")

        outcome = d.pop("outcome")

        stripe_receipt = cls(
            duplicate=duplicate,
            id=id,
            outcome=outcome,
        )


        stripe_receipt.additional_properties = d
        return stripe_receipt

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
