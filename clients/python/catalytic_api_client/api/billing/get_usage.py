from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.usage_out import UsageOut
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    granularity: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["from"] = from_

    params["to"] = to

    params["granularity"] = granularity


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/usage",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | UsageOut | None:
    if response.status_code == 200:
        response_200 = UsageOut.from_dict(response.json())



        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | UsageOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    granularity: str | Unset = UNSET,

) -> Response[Problem | UsageOut]:
    """ The tenant's usage in `[from, to)`, per UTC hour, day or month.

    Args:
        from_ (str | Unset):
        to (str | Unset):
        granularity (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UsageOut]
     """


    kwargs = _get_kwargs(
        from_=from_,
to=to,
granularity=granularity,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    granularity: str | Unset = UNSET,

) -> Problem | UsageOut | None:
    """ The tenant's usage in `[from, to)`, per UTC hour, day or month.

    Args:
        from_ (str | Unset):
        to (str | Unset):
        granularity (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UsageOut
     """


    return sync_detailed(
        client=client,
from_=from_,
to=to,
granularity=granularity,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    granularity: str | Unset = UNSET,

) -> Response[Problem | UsageOut]:
    """ The tenant's usage in `[from, to)`, per UTC hour, day or month.

    Args:
        from_ (str | Unset):
        to (str | Unset):
        granularity (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | UsageOut]
     """


    kwargs = _get_kwargs(
        from_=from_,
to=to,
granularity=granularity,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    granularity: str | Unset = UNSET,

) -> Problem | UsageOut | None:
    """ The tenant's usage in `[from, to)`, per UTC hour, day or month.

    Args:
        from_ (str | Unset):
        to (str | Unset):
        granularity (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | UsageOut
     """


    return (await asyncio_detailed(
        client=client,
from_=from_,
to=to,
granularity=granularity,

    )).parsed
