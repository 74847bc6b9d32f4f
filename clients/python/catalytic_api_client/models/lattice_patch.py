from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.lattice_in import LatticeIn





T = TypeVar("T", bound="LatticePatch")



@_attrs_define
class LatticePatch:
    """ Rename and/or redefine. Jobs already submitted keep the definition they
    were submitted with.

        Attributes:
            definition (LatticeIn | None | Unset):
            name (None | str | Unset):
     """

    definition: LatticeIn | None | Unset = UNSET
    name: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.lattice_in import LatticeIn # noqa: PLC0415
        definition: dict[str, Any] | None | Unset
        if isinstance(self.definition, Unset):
            definition = UNSET
        elif isinstance(self.definition, LatticeIn):
            definition = self.definition.to_dict()
        else:
            definition = self.definition

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if definition is not UNSET:
            field_dict["definition"] = definition
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lattice_in import LatticeIn # noqa: PLC0415
        d = dict(src_dict)
        def _parse_definition(data: object) -> LatticeIn | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                definition_type_0 = LatticeIn.from_dict(data)



                return definition_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LatticeIn | None | Unset, data)

        definition = _parse_definition(d.pop("definition", UNSET))


        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))


        lattice_patch = cls(
            definition=definition,
            name=name,
        )

        return lattice_patch

