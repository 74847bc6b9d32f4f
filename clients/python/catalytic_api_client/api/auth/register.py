from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.register_accepted import RegisterAccepted
from ...models.register_in import RegisterIn
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



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RegisterAccepted | None:
    if response.status_code == 202:
        response_202 = RegisterAccepted.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RegisterAccepted]:
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

) -> Response[Problem | RegisterAccepted]:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email. The answer is the same whether or not
    the email already has an account (no account oracle): a new account is
    made and mailed a verification link; an existing one is mailed a note
    saying someone tried. The new account can log in at once; until its
    email is verified it cannot upgrade a plan, invite or add webhook
    endpoints.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RegisterAccepted]
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

) -> Problem | RegisterAccepted | None:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email. The answer is the same whether or not
    the email already has an account (no account oracle): a new account is
    made and mailed a verification link; an existing one is mailed a note
    saying someone tried. The new account can log in at once; until its
    email is verified it cannot upgrade a plan, invite or add webhook
    endpoints.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RegisterAccepted
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterIn,

) -> Response[Problem | RegisterAccepted]:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email. The answer is the same whether or not
    the email already has an account (no account oracle): a new account is
    made and mailed a verification link; an existing one is mailed a note
    saying someone tried. The new account can log in at once; until its
    email is verified it cannot upgrade a plan, invite or add webhook
    endpoints.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RegisterAccepted]
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

) -> Problem | RegisterAccepted | None:
    """ Create an account: a new tenant and its owner, or a member of the
    tenant that invited this email. The answer is the same whether or not
    the email already has an account (no account oracle): a new account is
    made and mailed a verification link; an existing one is mailed a note
    saying someone tried. The new account can log in at once; until its
    email is verified it cannot upgrade a plan, invite or add webhook
    endpoints.

    Args:
        body (RegisterIn): A new account. Without `invitation_token` it creates a tenant (plan
            free) whose owner is this user; with one it joins the inviting tenant
            with the invited role (and `email` must be the invited one).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RegisterAccepted
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
