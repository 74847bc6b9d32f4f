from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.job_in import JobIn





T = TypeVar("T", bound="ScheduleIn")



@_attrs_define
class ScheduleIn:
    """ 
        Attributes:
            cron (str): Five fields (minute hour day-of-month month day-of-week, e.g.
                `0 3 * * MON-FRI`) or a macro (`@hourly`, `@daily`, `@weekly`,
                `@monthly`, `@yearly`); at most one tick a minute.
            job (JobIn): A job submission: a lattice (inline, or `lattice_id` of a stored one),
                an operation and its parameters. Example: {'lattice': {'dimensions': 2, 'size': 10}, 'operation':
                'shortest_path', 'params': {'end': [9, 9], 'start': [0, 0]}}.
            name (str): 1–100 characters, unique among the tenant's schedules.
            catch_up (None | str | Unset): After a downtime: `none` (only a tick at most 60 s late fires),
                `one` (default: the latest missed tick fires once) or `all` (each
                missed tick, up to 100).
            overlap (None | str | Unset): While the previous tick's job is unfinished: `skip` (default) the
                tick, `queue` another job anyway, or `cancel_previous` then submit.
            timezone (None | str | Unset): IANA time zone the expression is read in (default `UTC`); daylight
                saving as docs/api.md ("Schedules") says.
     """

    cron: str
    job: JobIn
    name: str
    catch_up: None | str | Unset = UNSET
    overlap: None | str | Unset = UNSET
    timezone: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.job_in import JobIn # noqa: PLC0415
        cron = self.cron

        job = self.job.to_dict()

        name = self.name

        catch_up: None | str | Unset
        if isinstance(self.catch_up, Unset):
            catch_up = UNSET
        else:
            catch_up = self.catch_up

        overlap: None | str | Unset
        if isinstance(self.overlap, Unset):
            overlap = UNSET
        else:
            overlap = self.overlap

        timezone: None | str | Unset
        if isinstance(self.timezone, Unset):
            timezone = UNSET
        else:
            timezone = self.timezone


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "cron": cron,
            "job": job,
            "name": name,
        })
        if catch_up is not UNSET:
            field_dict["catch_up"] = catch_up
        if overlap is not UNSET:
            field_dict["overlap"] = overlap
        if timezone is not UNSET:
            field_dict["timezone"] = timezone

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_in import JobIn # noqa: PLC0415
        d = dict(src_dict)
        cron = d.pop("cron")

        job = JobIn.from_dict(d.pop("job"))




        name = d.pop("name")

        def _parse_catch_up(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        catch_up = _parse_catch_up(d.pop("catch_up", UNSET))


        def _parse_overlap(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        overlap = _parse_overlap(d.pop("overlap", UNSET))


        def _parse_timezone(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        timezone = _parse_timezone(d.pop("timezone", UNSET))


        schedule_in = cls(
            cron=cron,
            job=job,
            name=name,
            catch_up=catch_up,
            overlap=overlap,
            timezone=timezone,
        )

        return schedule_in

