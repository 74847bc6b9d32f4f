from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="JobAccepted")



@_attrs_define
class JobAccepted:
    """ The answer to a submit.

        Attributes:
            id (UUID):
            location (str): Where to poll: `/v1/jobs/{id}`.
            status (str): `queued`, or `scheduled` for a delayed job (`run_at`, `delay_secs`);
                a replay answers the job's state now.
            existing (bool | Unset): `true` (with status 200) when the submit stored nothing because a
                live uniqueness hold (`unique_for_secs`) names this existing job;
                `status` is that job's state now. Absent otherwise.
            rerun_of (None | Unset | UUID): On a re-run: the job this one repeats.
     """

    id: UUID
    location: str
    status: str
    existing: bool | Unset = UNSET
    rerun_of: None | Unset | UUID = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        location = self.location

        status = self.status

        existing = self.existing

        rerun_of: None | str | Unset
        if isinstance(self.rerun_of, Unset):
            rerun_of = UNSET
        elif isinstance(self.rerun_of, UUID):
            rerun_of = str(self.rerun_of)
        else:
            rerun_of = self.rerun_of


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "location": location,
            "status": status,
        })
        if existing is not UNSET:
            field_dict["existing"] = existing
        if rerun_of is not UNSET:
            field_dict["rerun_of"] = rerun_of

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))




        location = d.pop("location")

        status = d.pop("status")

        existing = d.pop("existing", UNSET)

        def _parse_rerun_of(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                rerun_of_type_0 = UUID(data)



                return rerun_of_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        rerun_of = _parse_rerun_of(d.pop("rerun_of", UNSET))


        job_accepted = cls(
            id=id,
            location=location,
            status=status,
            existing=existing,
            rerun_of=rerun_of,
        )


        job_accepted.additional_properties = d
        return job_accepted

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
