from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.register_in import RegisterIn
from ...models.registered_out import RegisteredOut
from typing import cast



def _get_kwargs(
    *,
    body: RegisterIn,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/auth/register",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RegisteredOut | None:
    if response.status_code == 201:
        response_201 = RegisteredOut.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RegisteredOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterIn,

) -> Response[Problem | RegisteredOut]:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RegisteredOut]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterIn,

) -> Problem | RegisteredOut | None:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RegisteredOut
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterIn,

) -> Response[Problem | RegisteredOut]:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RegisteredOut]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterIn,

) -> Problem | RegisteredOut | None:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RegisteredOut
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
