from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ResetConfirmIn")



@_attrs_define
class ResetConfirmIn:
    """ 
        Attributes:
            new_password (str): The same rules as at registration.
            token (str): `cpr_...`, from the mailed link.
     """

    new_password: str
    token: str





    def to_dict(self) -> dict[str, Any]:
        new_password = self.new_password

        token = self.token


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "new_password": new_password,
            "token": token,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        new_password = d.pop("new_password")

        token = d.pop("token")

        reset_confirm_in = cls(
            new_password=new_password,
            token=token,
        )

        return reset_confirm_in

