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
  from ..models.job_in_params import JobInParams
  from ..models.lattice_in import LatticeIn





T = TypeVar("T", bound="JobIn")



@_attrs_define
class JobIn:
    """ A job submission: a lattice (inline, or `lattice_id` of a stored one),
    an operation and its parameters.

        Example:
            {'lattice': {'dimensions': 2, 'size': 10}, 'operation': 'shortest_path', 'params': {'end': [9, 9], 'start': [0,
                0]}}

        Attributes:
            operation (str): `shortest_path`, `distances`, `neighbors`, `components`, `analyze`, `transform` or `batch`.
            concurrency_key (None | str | Unset): Concurrency key (1–255 characters): at most `max_concurrency` of
                your jobs with this key are queued or running at once; the rest are
                `waiting`, in submit order, without holding up other keys. With
                `depends_on`, it waits for its parents, then for a slot; with
                `run_at` or `delay_secs`, for its time, then for a slot.
            delay_secs (float | None | Unset): Run no earlier than this many seconds from now (0 to the plan's
                horizon). Not with `run_at`.
            depends_on (list[int | UUID] | None | Unset): Parent jobs (up to 100, yours): the job is `waiting` until every
                one
                has succeeded. Each is a job id, or in a bulk submit the index of an
                earlier item of the same request. Not with `run_at`/`delay_secs`.
            lattice (LatticeIn | None | Unset):
            lattice_id (None | Unset | UUID): A stored lattice (`POST /v1/lattices`), instead of `lattice`.
            max_concurrency (int | None | Unset): 1–1000 (default 1) with `concurrency_key`.
            on_parent_failure (None | str | Unset): When a parent fails or is cancelled: `cancel` (default: this job is
                cancelled, the reason naming the parent) or `run` (it runs once
                every parent has finished).
            params (JobInParams | Unset): The operation's parameters (see the API guide in docs/api.md).
            result_ttl_secs (int | None | Unset): How long after it finished the job keeps its full result: 60
                seconds to the plan's bound (7 / 30 / 90 / 365 days). Then the
                result becomes a summary, as for every job after the fleet's
                default (7 days) when this is absent.
            run_at (datetime.datetime | None | Unset): Run no earlier than this time (RFC 3339): the job is `scheduled`
                until then. At most the plan's horizon ahead; up to 5 s in the past
                counts as now. Not with `delay_secs`.
            unique_for_secs (int | None | Unset): Unique jobs: for this many seconds (1 to 604,800, 7 days) the job
                holds its uniqueness key, and a submit of the same key answers this
                job (200, `existing: true`) instead of storing another. Unlike an
                `Idempotency-Key`, the requests need not be the same.
            unique_key (None | str | Unset): The uniqueness key (1–255 characters, no control characters); by
                default a digest of the request (lattice, operation, parameters), so
                the same computation is not run twice in the window. Needs
                `unique_for_secs`.
     """

    operation: str
    concurrency_key: None | str | Unset = UNSET
    delay_secs: float | None | Unset = UNSET
    depends_on: list[int | UUID] | None | Unset = UNSET
    lattice: LatticeIn | None | Unset = UNSET
    lattice_id: None | Unset | UUID = UNSET
    max_concurrency: int | None | Unset = UNSET
    on_parent_failure: None | str | Unset = UNSET
    params: JobInParams | Unset = UNSET
    result_ttl_secs: int | None | Unset = UNSET
    run_at: datetime.datetime | None | Unset = UNSET
    unique_for_secs: int | None | Unset = UNSET
    unique_key: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.job_in_params import JobInParams # noqa: PLC0415
        from ..models.lattice_in import LatticeIn # noqa: PLC0415
        operation = self.operation

        concurrency_key: None | str | Unset
        if isinstance(self.concurrency_key, Unset):
            concurrency_key = UNSET
        else:
            concurrency_key = self.concurrency_key

        delay_secs: float | None | Unset
        if isinstance(self.delay_secs, Unset):
            delay_secs = UNSET
        else:
            delay_secs = self.delay_secs

        depends_on: list[int | str] | None | Unset
        if isinstance(self.depends_on, Unset):
            depends_on = UNSET
        elif isinstance(self.depends_on, list):
            depends_on = []
            for depends_on_type_0_item_data in self.depends_on:
                depends_on_type_0_item: int | str
                if isinstance(depends_on_type_0_item_data, UUID):
                    depends_on_type_0_item = str(depends_on_type_0_item_data)
                else:
                    depends_on_type_0_item = depends_on_type_0_item_data
                depends_on.append(depends_on_type_0_item)


        else:
            depends_on = self.depends_on

        lattice: dict[str, Any] | None | Unset
        if isinstance(self.lattice, Unset):
            lattice = UNSET
        elif isinstance(self.lattice, LatticeIn):
            lattice = self.lattice.to_dict()
        else:
            lattice = self.lattice

        lattice_id: None | str | Unset
        if isinstance(self.lattice_id, Unset):
            lattice_id = UNSET
        elif isinstance(self.lattice_id, UUID):
            lattice_id = str(self.lattice_id)
        else:
            lattice_id = self.lattice_id

        max_concurrency: int | None | Unset
        if isinstance(self.max_concurrency, Unset):
            max_concurrency = UNSET
        else:
            max_concurrency = self.max_concurrency

        on_parent_failure: None | str | Unset
        if isinstance(self.on_parent_failure, Unset):
            on_parent_failure = UNSET
        else:
            on_parent_failure = self.on_parent_failure

        params: dict[str, Any] | Unset = UNSET
        if not isinstance(self.params, Unset):
            params = self.params.to_dict()

        result_ttl_secs: int | None | Unset
        if isinstance(self.result_ttl_secs, Unset):
            result_ttl_secs = UNSET
        else:
            result_ttl_secs = self.result_ttl_secs

        run_at: None | str | Unset
        if isinstance(self.run_at, Unset):
            run_at = UNSET
        elif isinstance(self.run_at, datetime.datetime):
            run_at = self.run_at.isoformat()
        else:
            run_at = self.run_at

        unique_for_secs: int | None | Unset
        if isinstance(self.unique_for_secs, Unset):
            unique_for_secs = UNSET
        else:
            unique_for_secs = self.unique_for_secs

        unique_key: None | str | Unset
        if isinstance(self.unique_key, Unset):
            unique_key = UNSET
        else:
            unique_key = self.unique_key


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "operation": operation,
        })
        if concurrency_key is not UNSET:
            field_dict["concurrency_key"] = concurrency_key
        if delay_secs is not UNSET:
            field_dict["delay_secs"] = delay_secs
        if depends_on is not UNSET:
            field_dict["depends_on"] = depends_on
        if lattice is not UNSET:
            field_dict["lattice"] = lattice
        if lattice_id is not UNSET:
            field_dict["lattice_id"] = lattice_id
        if max_concurrency is not UNSET:
            field_dict["max_concurrency"] = max_concurrency
        if on_parent_failure is not UNSET:
            field_dict["on_parent_failure"] = on_parent_failure
        if params is not UNSET:
            field_dict["params"] = params
        if result_ttl_secs is not UNSET:
            field_dict["result_ttl_secs"] = result_ttl_secs
        if run_at is not UNSET:
            field_dict["run_at"] = run_at
        if unique_for_secs is not UNSET:
            field_dict["unique_for_secs"] = unique_for_secs
        if unique_key is not UNSET:
            field_dict["unique_key"] = unique_key

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_in_params import JobInParams # noqa: PLC0415
        from ..models.lattice_in import LatticeIn # noqa: PLC0415
        d = dict(src_dict)
        operation = d.pop("operation")

        def _parse_concurrency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        concurrency_key = _parse_concurrency_key(d.pop("concurrency_key", UNSET))


        def _parse_delay_secs(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        delay_secs = _parse_delay_secs(d.pop("delay_secs", UNSET))


        def _parse_depends_on(data: object) -> list[int | UUID] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                depends_on_type_0 = []
                _depends_on_type_0 = data
                for depends_on_type_0_item_data in (_depends_on_type_0):
                    def _parse_depends_on_type_0_item(data: object) -> int | UUID:
                        try:
                            if not isinstance(data, str):
                                raise TypeError()
                            componentsschemas_parent_ref_type_0 = UUID(data)



                            return componentsschemas_parent_ref_type_0
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        return cast(int | UUID, data)

                    depends_on_type_0_item = _parse_depends_on_type_0_item(depends_on_type_0_item_data)

                    depends_on_type_0.append(depends_on_type_0_item)

                return depends_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int | UUID] | None | Unset, data)

        depends_on = _parse_depends_on(d.pop("depends_on", UNSET))


        def _parse_lattice(data: object) -> LatticeIn | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                lattice_type_0 = LatticeIn.from_dict(data)



                return lattice_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LatticeIn | None | Unset, data)

        lattice = _parse_lattice(d.pop("lattice", UNSET))


        def _parse_lattice_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                lattice_id_type_0 = UUID(data)



                return lattice_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        lattice_id = _parse_lattice_id(d.pop("lattice_id", UNSET))


        def _parse_max_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_concurrency = _parse_max_concurrency(d.pop("max_concurrency", UNSET))


        def _parse_on_parent_failure(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        on_parent_failure = _parse_on_parent_failure(d.pop("on_parent_failure", UNSET))


        _params = d.pop("params", UNSET)
        params: JobInParams | Unset
        if isinstance(_params,  Unset):
            params = UNSET
        else:
            params = JobInParams.from_dict(_params)




        def _parse_result_ttl_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        result_ttl_secs = _parse_result_ttl_secs(d.pop("result_ttl_secs", UNSET))


        def _parse_run_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                run_at_type_0 = datetime.datetime.fromisoformat(data)



                return run_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        run_at = _parse_run_at(d.pop("run_at", UNSET))


        def _parse_unique_for_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        unique_for_secs = _parse_unique_for_secs(d.pop("unique_for_secs", UNSET))


        def _parse_unique_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        unique_key = _parse_unique_key(d.pop("unique_key", UNSET))


        job_in = cls(
            operation=operation,
            concurrency_key=concurrency_key,
            delay_secs=delay_secs,
            depends_on=depends_on,
            lattice=lattice,
            lattice_id=lattice_id,
            max_concurrency=max_concurrency,
            on_parent_failure=on_parent_failure,
            params=params,
            result_ttl_secs=result_ttl_secs,
            run_at=run_at,
            unique_for_secs=unique_for_secs,
            unique_key=unique_key,
        )

        return job_in

