from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ConcurrencyKeyIn")



@_attrs_define
class ConcurrencyKeyIn:
    """ 
        Attributes:
            max_concurrency (int): 1–1000: at most this many of the key's jobs are queued or running
                at once, whatever `max_concurrency` their submits named.
     """

    max_concurrency: int





    def to_dict(self) -> dict[str, Any]:
        max_concurrency = self.max_concurrency


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "max_concurrency": max_concurrency,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_concurrency = d.pop("max_concurrency")

        concurrency_key_in = cls(
            max_concurrency=max_concurrency,
        )

        return concurrency_key_in

