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






T = TypeVar("T", bound="ReplayFailedIn")



@_attrs_define
class ReplayFailedIn:
    """ 
        Attributes:
            since (datetime.datetime): Failed deliveries created at or after this time are sent again.
            endpoint_id (None | Unset | UUID): Only those to this endpoint; absent: to every endpoint of the tenant.
     """

    since: datetime.datetime
    endpoint_id: None | Unset | UUID = UNSET





    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        endpoint_id: None | str | Unset
        if isinstance(self.endpoint_id, Unset):
            endpoint_id = UNSET
        elif isinstance(self.endpoint_id, UUID):
            endpoint_id = str(self.endpoint_id)
        else:
            endpoint_id = self.endpoint_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "since": since,
        })
        if endpoint_id is not UNSET:
            field_dict["endpoint_id"] = endpoint_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        since = datetime.datetime.fromisoformat(d.pop("since"))




        def _parse_endpoint_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                endpoint_id_type_0 = UUID(data)



                return endpoint_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        endpoint_id = _parse_endpoint_id(d.pop("endpoint_id", UNSET))


        replay_failed_in = cls(
            since=since,
            endpoint_id=endpoint_id,
        )

        return replay_failed_in

