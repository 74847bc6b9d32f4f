from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from typing import cast
from uuid import UUID



def _get_kwargs(
    id: UUID,
    part: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{id}/result/{part}".format(id=quote(str(id), safe=""),part=quote(str(part), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 416:
        response_416 = Problem.from_dict(response.json())



        return response_416

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    part: str,
    *,
    client: AuthenticatedClient,

) -> Response[Any | Problem]:
    """ Downloads a stored part of a succeeded job's result (named in its
    `result.parts`), e.g. `field`: the whole distance field as a `.npy`
    file that `numpy.load` opens (32-bit integers, -1 unreachable, shaped
    like the lattice, axis 0 first). Single byte ranges (`Range: bytes=a-b`)
    are answered 206; `If-None-Match` with the ETag 304.

    Args:
        id (UUID):
        part (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
part=part,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: UUID,
    part: str,
    *,
    client: AuthenticatedClient,

) -> Any | Problem | None:
    """ Downloads a stored part of a succeeded job's result (named in its
    `result.parts`), e.g. `field`: the whole distance field as a `.npy`
    file that `numpy.load` opens (32-bit integers, -1 unreachable, shaped
    like the lattice, axis 0 first). Single byte ranges (`Range: bytes=a-b`)
    are answered 206; `If-None-Match` with the ETag 304.

    Args:
        id (UUID):
        part (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
     """


    return sync_detailed(
        id=id,
part=part,
client=client,

    ).parsed

async def asyncio_detailed(
    id: UUID,
    part: str,
    *,
    client: AuthenticatedClient,

) -> Response[Any | Problem]:
    """ Downloads a stored part of a succeeded job's result (named in its
    `result.parts`), e.g. `field`: the whole distance field as a `.npy`
    file that `numpy.load` opens (32-bit integers, -1 unreachable, shaped
    like the lattice, axis 0 first). Single byte ranges (`Range: bytes=a-b`)
    are answered 206; `If-None-Match` with the ETag 304.

    Args:
        id (UUID):
        part (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
part=part,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: UUID,
    part: str,
    *,
    client: AuthenticatedClient,

) -> Any | Problem | None:
    """ Downloads a stored part of a succeeded job's result (named in its
    `result.parts`), e.g. `field`: the whole distance field as a `.npy`
    file that `numpy.load` opens (32-bit integers, -1 unreachable, shaped
    like the lattice, axis 0 first). Single byte ranges (`Range: bytes=a-b`)
    are answered 206; `If-None-Match` with the ETag 304.

    Args:
        id (UUID):
        part (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
     """


    return (await asyncio_detailed(
        id=id,
part=part,
client=client,

    )).parsed
