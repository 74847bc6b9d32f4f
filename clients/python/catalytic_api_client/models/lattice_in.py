from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.blocked_in_type_1 import BlockedInType1





T = TypeVar("T", bound="LatticeIn")



@_attrs_define
class LatticeIn:
    """ A lattice: `dimensions` axes of `size` points, optionally wrapping
    around and with blocked vertices.

        Attributes:
            size (int | list[int]):
            blocked (BlockedInType1 | list[list[int]] | None | Unset):
            dimensions (int | None | Unset): 1..=10. Optional when `size` is an array (then it must match its length).
            wrap (bool | list[bool] | None | Unset):
     """

    size: int | list[int]
    blocked: BlockedInType1 | list[list[int]] | None | Unset = UNSET
    dimensions: int | None | Unset = UNSET
    wrap: bool | list[bool] | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.blocked_in_type_1 import BlockedInType1 # noqa: PLC0415
        size: int | list[int]
        if isinstance(self.size, list):
            size = self.size


        else:
            size = self.size

        blocked: dict[str, Any] | list[list[int]] | None | Unset
        if isinstance(self.blocked, Unset):
            blocked = UNSET
        elif isinstance(self.blocked, list):
            blocked = []
            for componentsschemas_blocked_in_type_0_item_data in self.blocked:
                componentsschemas_blocked_in_type_0_item = componentsschemas_blocked_in_type_0_item_data


                blocked.append(componentsschemas_blocked_in_type_0_item)


        elif isinstance(self.blocked, BlockedInType1):
            blocked = self.blocked.to_dict()
        else:
            blocked = self.blocked

        dimensions: int | None | Unset
        if isinstance(self.dimensions, Unset):
            dimensions = UNSET
        else:
            dimensions = self.dimensions

        wrap: bool | list[bool] | None | Unset
        if isinstance(self.wrap, Unset):
            wrap = UNSET
        elif isinstance(self.wrap, list):
            wrap = self.wrap


        else:
            wrap = self.wrap


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "size": size,
        })
        if blocked is not UNSET:
            field_dict["blocked"] = blocked
        if dimensions is not UNSET:
            field_dict["dimensions"] = dimensions
        if wrap is not UNSET:
            field_dict["wrap"] = wrap

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.blocked_in_type_1 import BlockedInType1 # noqa: PLC0415
        d = dict(src_dict)
        def _parse_size(data: object) -> int | list[int]:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_size_in_type_1 = cast(list[int], data)

                return componentsschemas_size_in_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(int | list[int], data)

        size = _parse_size(d.pop("size"))


        def _parse_blocked(data: object) -> BlockedInType1 | list[list[int]] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_blocked_in_type_0 = []
                _componentsschemas_blocked_in_type_0 = data
                for componentsschemas_blocked_in_type_0_item_data in (_componentsschemas_blocked_in_type_0):
                    componentsschemas_blocked_in_type_0_item = cast(list[int], componentsschemas_blocked_in_type_0_item_data)

                    componentsschemas_blocked_in_type_0.append(componentsschemas_blocked_in_type_0_item)

                return componentsschemas_blocked_in_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_blocked_in_type_1 = BlockedInType1.from_dict(data)



                return componentsschemas_blocked_in_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BlockedInType1 | list[list[int]] | None | Unset, data)

        blocked = _parse_blocked(d.pop("blocked", UNSET))


        def _parse_dimensions(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        dimensions = _parse_dimensions(d.pop("dimensions", UNSET))


        def _parse_wrap(data: object) -> bool | list[bool] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_wrap_in_type_1 = cast(list[bool], data)

                return componentsschemas_wrap_in_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | list[bool] | None | Unset, data)

        wrap = _parse_wrap(d.pop("wrap", UNSET))


        lattice_in = cls(
            size=size,
            blocked=blocked,
            dimensions=dimensions,
            wrap=wrap,
        )

        return lattice_in

