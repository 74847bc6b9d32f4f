from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.lattice_out_definition import LatticeOutDefinition





T = TypeVar("T", bound="LatticeOut")



@_attrs_define
class LatticeOut:
    """ 
        Attributes:
            created_at (datetime.datetime):
            definition (LatticeOutDefinition): In the shape a create takes (it can be sent again as it is): `size`
                per axis, `wrap` flags, `blocked` coordinates or seeded rule.
            dimensions (int):
            edges (int):
            id (UUID):
            name (str):
            updated_at (datetime.datetime):
            vertices (int):
     """

    created_at: datetime.datetime
    definition: LatticeOutDefinition
    dimensions: int
    edges: int
    id: UUID
    name: str
    updated_at: datetime.datetime
    vertices: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.lattice_out_definition import LatticeOutDefinition # noqa: PLC0415
        created_at = self.created_at.isoformat()

        definition = self.definition.to_dict()

        dimensions = self.dimensions

        edges = self.edges

        id = str(self.id)

        name = self.name

        updated_at = self.updated_at.isoformat()

        vertices = self.vertices


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "definition": definition,
            "dimensions": dimensions,
            "edges": edges,
            "id": id,
            "name": name,
            "updated_at": updated_at,
            "vertices": vertices,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lattice_out_definition import LatticeOutDefinition # noqa: PLC0415
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        definition = LatticeOutDefinition.from_dict(d.pop("definition"))




        dimensions = d.pop("dimensions")

        edges = d.pop("edges")

        id = UUID(d.pop("id"))




        name = d.pop("name")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        vertices = d.pop("vertices")

        lattice_out = cls(
            created_at=created_at,
            definition=definition,
            dimensions=dimensions,
            edges=edges,
            id=id,
            name=name,
            updated_at=updated_at,
            vertices=vertices,
        )


        lattice_out.additional_properties = d
        return lattice_out

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
