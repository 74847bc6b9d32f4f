from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.audit_event_out_details import AuditEventOutDetails





T = TypeVar("T", bound="AuditEventOut")



@_attrs_define
class AuditEventOut:
    """ One record.

        Attributes:
            action (str): E.g. `auth.sign_in`, `user.role_changed`, `api_key.created`,
                `webhook_endpoint.deleted`, `tenant.plan_changed`.
            at (datetime.datetime):
            details (AuditEventOutDetails):
            id (UUID):
            actor_email (None | str | Unset): The acting user's email when the record was written.
            actor_key_id (None | Unset | UUID): The API key that acted.
            actor_user_id (None | Unset | UUID): The user who acted (absent for an API key, a failed sign-in, or the
                system).
            ip (None | str | Unset): The client's address, where the request carried one.
            target (None | str | Unset): What was acted on: an email, a key or endpoint id, a plan.
     """

    action: str
    at: datetime.datetime
    details: AuditEventOutDetails
    id: UUID
    actor_email: None | str | Unset = UNSET
    actor_key_id: None | Unset | UUID = UNSET
    actor_user_id: None | Unset | UUID = UNSET
    ip: None | str | Unset = UNSET
    target: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_event_out_details import AuditEventOutDetails # noqa: PLC0415
        action = self.action

        at = self.at.isoformat()

        details = self.details.to_dict()

        id = str(self.id)

        actor_email: None | str | Unset
        if isinstance(self.actor_email, Unset):
            actor_email = UNSET
        else:
            actor_email = self.actor_email

        actor_key_id: None | str | Unset
        if isinstance(self.actor_key_id, Unset):
            actor_key_id = UNSET
        elif isinstance(self.actor_key_id, UUID):
            actor_key_id = str(self.actor_key_id)
        else:
            actor_key_id = self.actor_key_id

        actor_user_id: None | str | Unset
        if isinstance(self.actor_user_id, Unset):
            actor_user_id = UNSET
        elif isinstance(self.actor_user_id, UUID):
            actor_user_id = str(self.actor_user_id)
        else:
            actor_user_id = self.actor_user_id

        ip: None | str | Unset
        if isinstance(self.ip, Unset):
            ip = UNSET
        else:
            ip = self.ip

        target: None | str | Unset
        if isinstance(self.target, Unset):
            target = UNSET
        else:
            target = self.target


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "at": at,
            "details": details,
            "id": id,
        })
        if actor_email is not UNSET:
            field_dict["actor_email"] = actor_email
        if actor_key_id is not UNSET:
            field_dict["actor_key_id"] = actor_key_id
        if actor_user_id is not UNSET:
            field_dict["actor_user_id"] = actor_user_id
        if ip is not UNSET:
            field_dict["ip"] = ip
        if target is not UNSET:
            field_dict["target"] = target

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.audit_event_out_details import AuditEventOutDetails # noqa: PLC0415
        d = dict(src_dict)
        action = d.pop("action")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        details = AuditEventOutDetails.from_dict(d.pop("details"))




        id = UUID(d.pop("id"))




        def _parse_actor_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        actor_email = _parse_actor_email(d.pop("actor_email", UNSET))


        def _parse_actor_key_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                actor_key_id_type_0 = UUID(data)



                return actor_key_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        actor_key_id = _parse_actor_key_id(d.pop("actor_key_id", UNSET))


        def _parse_actor_user_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                actor_user_id_type_0 = UUID(data)



                return actor_user_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        actor_user_id = _parse_actor_user_id(d.pop("actor_user_id", UNSET))


        def _parse_ip(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ip = _parse_ip(d.pop("ip", UNSET))


        def _parse_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target = _parse_target(d.pop("target", UNSET))


        audit_event_out = cls(
            action=action,
            at=at,
            details=details,
            id=id,
            actor_email=actor_email,
            actor_key_id=actor_key_id,
            actor_user_id=actor_user_id,
            ip=ip,
            target=target,
        )


        audit_event_out.additional_properties = d
        return audit_event_out

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
