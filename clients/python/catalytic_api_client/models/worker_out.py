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






T = TypeVar("T", bound="WorkerOut")



@_attrs_define
class WorkerOut:
    """ 
        Attributes:
            concurrency (int):
            device (str): `cpu` or `cuda`.
            host (str):
            id (UUID):
            in_flight (int):
            last_heartbeat_at (datetime.datetime):
            started_at (datetime.datetime):
            device_memory_bytes (int | None | Unset): The GPU's memory in bytes (`cuda` workers).
            device_name (None | str | Unset): The GPU's name (`cuda` workers), e.g. `NVIDIA H100 80GB HBM3`.
     """

    concurrency: int
    device: str
    host: str
    id: UUID
    in_flight: int
    last_heartbeat_at: datetime.datetime
    started_at: datetime.datetime
    device_memory_bytes: int | None | Unset = UNSET
    device_name: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        concurrency = self.concurrency

        device = self.device

        host = self.host

        id = str(self.id)

        in_flight = self.in_flight

        last_heartbeat_at = self.last_heartbeat_at.isoformat()

        started_at = self.started_at.isoformat()

        device_memory_bytes: int | None | Unset
        if isinstance(self.device_memory_bytes, Unset):
            device_memory_bytes = UNSET
        else:
            device_memory_bytes = self.device_memory_bytes

        device_name: None | str | Unset
        if isinstance(self.device_name, Unset):
            device_name = UNSET
        else:
            device_name = self.device_name


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "concurrency": concurrency,
            "device": device,
            "host": host,
            "id": id,
            "in_flight": in_flight,
            "last_heartbeat_at": last_heartbeat_at,
            "started_at": started_at,
        })
        if device_memory_bytes is not UNSET:
            field_dict["device_memory_bytes"] = device_memory_bytes
        if device_name is not UNSET:
            field_dict["device_name"] = device_name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        concurrency = d.pop("concurrency")

        device = d.pop("device")

        host = d.pop("host")

        id = UUID(d.pop("id"))




        in_flight = d.pop("in_flight")

        last_heartbeat_at = datetime.datetime.fromisoformat(d.pop("last_heartbeat_at"))




        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))




        def _parse_device_memory_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        device_memory_bytes = _parse_device_memory_bytes(d.pop("device_memory_bytes", UNSET))


        def _parse_device_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        device_name = _parse_device_name(d.pop("device_name", UNSET))


        worker_out = cls(
            concurrency=concurrency,
            device=device,
            host=host,
            id=id,
            in_flight=in_flight,
            last_heartbeat_at=last_heartbeat_at,
            started_at=started_at,
            device_memory_bytes=device_memory_bytes,
            device_name=device_name,
        )


        worker_out.additional_properties = d
        return worker_out

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
