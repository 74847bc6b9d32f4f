from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="InvitationIn")



@_attrs_define
class InvitationIn:
    """ 
        Attributes:
            email (str):
            role (str): The role the invitee gets: `owner` (owners only), `admin`, `member` or `viewer`.
     """

    email: str
    role: str





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        role = self.role


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "email": email,
            "role": role,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        role = d.pop("role")

        invitation_in = cls(
            email=email,
            role=role,
        )

        return invitation_in

