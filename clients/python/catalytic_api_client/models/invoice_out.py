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
  from ..models.invoice_line_out import InvoiceLineOut





T = TypeVar("T", bound="InvoiceOut")



@_attrs_define
class InvoiceOut:
    """ 
        Attributes:
            currency (str):
            id (UUID):
            period_end (datetime.datetime):
            period_start (datetime.datetime): The UTC calendar month billed: `[period_start, period_end)`.
            status (str): `draft` (recomputed each billing round) or `finalized` (immutable).
            total_cents (int): Sum of the lines, in cents.
            updated_at (datetime.datetime):
            finalized_at (datetime.datetime | None | Unset):
            lines (list[InvoiceLineOut] | None | Unset): Present on `GET /v1/invoices/{id}` only.
            number (None | str | Unset): `INV-<year>-<6 digits>`, gap-free per year; set at finalisation.
     """

    currency: str
    id: UUID
    period_end: datetime.datetime
    period_start: datetime.datetime
    status: str
    total_cents: int
    updated_at: datetime.datetime
    finalized_at: datetime.datetime | None | Unset = UNSET
    lines: list[InvoiceLineOut] | None | Unset = UNSET
    number: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.invoice_line_out import InvoiceLineOut # noqa: PLC0415
        currency = self.currency

        id = str(self.id)

        period_end = self.period_end.isoformat()

        period_start = self.period_start.isoformat()

        status = self.status

        total_cents = self.total_cents

        updated_at = self.updated_at.isoformat()

        finalized_at: None | str | Unset
        if isinstance(self.finalized_at, Unset):
            finalized_at = UNSET
        elif isinstance(self.finalized_at, datetime.datetime):
            finalized_at = self.finalized_at.isoformat()
        else:
            finalized_at = self.finalized_at

        lines: list[dict[str, Any]] | None | Unset
        if isinstance(self.lines, Unset):
            lines = UNSET
        elif isinstance(self.lines, list):
            lines = []
            for lines_type_0_item_data in self.lines:
                lines_type_0_item = lines_type_0_item_data.to_dict()
                lines.append(lines_type_0_item)


        else:
            lines = self.lines

        number: None | str | Unset
        if isinstance(self.number, Unset):
            number = UNSET
        else:
            number = self.number


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "currency": currency,
            "id": id,
            "period_end": period_end,
            "period_start": period_start,
            "status": status,
            "total_cents": total_cents,
            "updated_at": updated_at,
        })
        if finalized_at is not UNSET:
            field_dict["finalized_at"] = finalized_at
        if lines is not UNSET:
            field_dict["lines"] = lines
        if number is not UNSET:
            field_dict["number"] = number

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.invoice_line_out import InvoiceLineOut # noqa: PLC0415
        d = dict(src_dict)
        currency = d.pop("currency")

        id = UUID(d.pop("id"))




        period_end = datetime.datetime.fromisoformat(d.pop("period_end"))




        period_start = datetime.datetime.fromisoformat(d.pop("period_start"))




        status = d.pop("status")

        total_cents = d.pop("total_cents")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        def _parse_finalized_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finalized_at_type_0 = datetime.datetime.fromisoformat(data)



                return finalized_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finalized_at = _parse_finalized_at(d.pop("finalized_at", UNSET))


        def _parse_lines(data: object) -> list[InvoiceLineOut] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                lines_type_0 = []
                _lines_type_0 = data
                for lines_type_0_item_data in (_lines_type_0):
                    lines_type_0_item = InvoiceLineOut.from_dict(lines_type_0_item_data)



                    lines_type_0.append(lines_type_0_item)

                return lines_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[InvoiceLineOut] | None | Unset, data)

        lines = _parse_lines(d.pop("lines", UNSET))


        def _parse_number(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        number = _parse_number(d.pop("number", UNSET))


        invoice_out = cls(
            currency=currency,
            id=id,
            period_end=period_end,
            period_start=period_start,
            status=status,
            total_cents=total_cents,
            updated_at=updated_at,
            finalized_at=finalized_at,
            lines=lines,
            number=number,
        )


        invoice_out.additional_properties = d
        return invoice_out

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
