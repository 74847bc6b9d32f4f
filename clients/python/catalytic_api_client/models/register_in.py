from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="RegisterIn")



@_attrs_define
class RegisterIn:
    """ A new account. Without `invitation_token` it creates a tenant (plan
    free) whose owner is this user; with one it joins the inviting tenant
    with the invited role (and `email` must be the invited one).

        Attributes:
            email (str):
            password (str): 8–128 characters, not only whitespace, and not trivially guessable
                (zxcvbn score 2 or more; the 422 says why).
            invitation_token (None | str | Unset): `cli_...`, from `POST /v1/users/invitations`.
            tenant_name (None | str | Unset): The new tenant's name (1–200 characters); defaults to the email.
                Not allowed with an invitation.
     """

    email: str
    password: str
    invitation_token: None | str | Unset = UNSET
    tenant_name: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        password = self.password

        invitation_token: None | str | Unset
        if isinstance(self.invitation_token, Unset):
            invitation_token = UNSET
        else:
            invitation_token = self.invitation_token

        tenant_name: None | str | Unset
        if isinstance(self.tenant_name, Unset):
            tenant_name = UNSET
        else:
            tenant_name = self.tenant_name


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "email": email,
            "password": password,
        })
        if invitation_token is not UNSET:
            field_dict["invitation_token"] = invitation_token
        if tenant_name is not UNSET:
            field_dict["tenant_name"] = tenant_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email")

        password = d.pop("password")

        def _parse_invitation_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        invitation_token = _parse_invitation_token(d.pop("invitation_token", UNSET))


        def _parse_tenant_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tenant_name = _parse_tenant_name(d.pop("tenant_name", UNSET))


        register_in = cls(
            email=email,
            password=password,
            invitation_token=invitation_token,
            tenant_name=tenant_name,
        )

        return register_in

