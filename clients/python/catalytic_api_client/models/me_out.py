from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.tenant_out import TenantOut
  from ..models.user_out import UserOut





T = TypeVar("T", bound="MeOut")



@_attrs_define
class MeOut:
    """ The caller: the user (absent for an API key), the tenant, the role the
    caller acts with and the tenant's plan.

        Attributes:
            plan (str):
            role (str):
            tenant (TenantOut):
            user (None | Unset | UserOut):
     """

    plan: str
    role: str
    tenant: TenantOut
    user: None | Unset | UserOut = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.tenant_out import TenantOut # noqa: PLC0415
        from ..models.user_out import UserOut # noqa: PLC0415
        plan = self.plan

        role = self.role

        tenant = self.tenant.to_dict()

        user: dict[str, Any] | None | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        elif isinstance(self.user, UserOut):
            user = self.user.to_dict()
        else:
            user = self.user


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "plan": plan,
            "role": role,
            "tenant": tenant,
        })
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.tenant_out import TenantOut # noqa: PLC0415
        from ..models.user_out import UserOut # noqa: PLC0415
        d = dict(src_dict)
        plan = d.pop("plan")

        role = d.pop("role")

        tenant = TenantOut.from_dict(d.pop("tenant"))




        def _parse_user(data: object) -> None | Unset | UserOut:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                user_type_0 = UserOut.from_dict(data)



                return user_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UserOut, data)

        user = _parse_user(d.pop("user", UNSET))


        me_out = cls(
            plan=plan,
            role=role,
            tenant=tenant,
            user=user,
        )


        me_out.additional_properties = d
        return me_out

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
