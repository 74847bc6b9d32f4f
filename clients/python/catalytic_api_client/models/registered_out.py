from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.tenant_out import TenantOut
  from ..models.user_out import UserOut





T = TypeVar("T", bound="RegisteredOut")



@_attrs_define
class RegisteredOut:
    """ 
        Attributes:
            tenant (TenantOut):
            user (UserOut):
     """

    tenant: TenantOut
    user: UserOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.tenant_out import TenantOut # noqa: PLC0415
        from ..models.user_out import UserOut # noqa: PLC0415
        tenant = self.tenant.to_dict()

        user = self.user.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "tenant": tenant,
            "user": user,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tenant_out import TenantOut # noqa: PLC0415
        from ..models.user_out import UserOut # noqa: PLC0415
        d = dict(src_dict)
        tenant = TenantOut.from_dict(d.pop("tenant"))




        user = UserOut.from_dict(d.pop("user"))




        registered_out = cls(
            tenant=tenant,
            user=user,
        )


        registered_out.additional_properties = d
        return registered_out

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
