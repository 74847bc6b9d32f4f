from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="UserOut")



@_attrs_define
class UserOut:
    """ 
        Attributes:
            created_at (datetime.datetime):
            email (str):
            email_verified (bool): Whether the user followed the verification link mailed to them.
                Until then they cannot upgrade the plan, invite or add webhook
                endpoints.
            id (UUID):
            role (str): `owner`, `admin`, `member` or `viewer`.
            updated_at (datetime.datetime):
     """

    created_at: datetime.datetime
    email: str
    email_verified: bool
    id: UUID
    role: str
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        email = self.email

        email_verified = self.email_verified

        id = str(self.id)

        role = self.role

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "email": email,
            "email_verified": email_verified,
            "id": id,
            "role": role,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        email = d.pop("email")

        email_verified = d.pop("email_verified")

        id = UUID(d.pop("id"))




        role = d.pop("role")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        user_out = cls(
            created_at=created_at,
            email=email,
            email_verified=email_verified,
            id=id,
            role=role,
            updated_at=updated_at,
        )


        user_out.additional_properties = d
        return user_out

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
