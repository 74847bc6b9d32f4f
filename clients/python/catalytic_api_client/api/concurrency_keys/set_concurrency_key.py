from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.concurrency_key_in import ConcurrencyKeyIn
from ...models.concurrency_key_out import ConcurrencyKeyOut
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    key: str,
    *,
    body: ConcurrencyKeyIn,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/concurrency-keys/{key}".format(key=quote(str(key), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ConcurrencyKeyOut | Problem | None:
    if response.status_code == 200:
        response_200 = ConcurrencyKeyOut.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = ConcurrencyKeyOut.from_dict(response.json())



        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ConcurrencyKeyOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: ConcurrencyKeyIn,

) -> Response[ConcurrencyKeyOut | Problem]:
    """ Store a key's limit (or change it): it applies at once to the key's
    jobs, waiting ones included.

    Args:
        key (str):
        body (ConcurrencyKeyIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConcurrencyKeyOut | Problem]
     """


    kwargs = _get_kwargs(
        key=key,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    key: str,
    *,
    client: AuthenticatedClient,
    body: ConcurrencyKeyIn,

) -> ConcurrencyKeyOut | Problem | None:
    """ Store a key's limit (or change it): it applies at once to the key's
    jobs, waiting ones included.

    Args:
        key (str):
        body (ConcurrencyKeyIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConcurrencyKeyOut | Problem
     """


    return sync_detailed(
        key=key,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    key: str,
    *,
    client: AuthenticatedClient,
    body: ConcurrencyKeyIn,

) -> Response[ConcurrencyKeyOut | Problem]:
    """ Store a key's limit (or change it): it applies at once to the key's
    jobs, waiting ones included.

    Args:
        key (str):
        body (ConcurrencyKeyIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConcurrencyKeyOut | Problem]
     """


    kwargs = _get_kwargs(
        key=key,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    key: str,
    *,
    client: AuthenticatedClient,
    body: ConcurrencyKeyIn,

) -> ConcurrencyKeyOut | Problem | None:
    """ Store a key's limit (or change it): it applies at once to the key's
    jobs, waiting ones included.

    Args:
        key (str):
        body (ConcurrencyKeyIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConcurrencyKeyOut | Problem
     """


    return (await asyncio_detailed(
        key=key,
client=client,
body=body,

    )).parsed
