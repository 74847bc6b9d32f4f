from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.job_accepted import JobAccepted
from ...models.job_in import JobIn
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: JobIn,
    idempotency_key: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> JobAccepted | Problem | None:
    if response.status_code == 200:
        response_200 = JobAccepted.from_dict(response.json())



        return response_200

    if response.status_code == 202:
        response_202 = JobAccepted.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 402:
        response_402 = Problem.from_dict(response.json())



        return response_402

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[JobAccepted | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: JobIn,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[JobAccepted | Problem]:
    """ Submit a job. It is validated, stored with its outbox row in one
    transaction, and answered 202; a worker computes it later.

    Args:
        idempotency_key (None | str | Unset):
        body (JobIn): A job submission: a lattice (inline, or `lattice_id` of a stored one),
            an operation and its parameters. Example: {'lattice': {'dimensions': 2, 'size': 10},
            'operation': 'shortest_path', 'params': {'end': [9, 9], 'start': [0, 0]}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobAccepted | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: JobIn,
    idempotency_key: None | str | Unset = UNSET,

) -> JobAccepted | Problem | None:
    """ Submit a job. It is validated, stored with its outbox row in one
    transaction, and answered 202; a worker computes it later.

    Args:
        idempotency_key (None | str | Unset):
        body (JobIn): A job submission: a lattice (inline, or `lattice_id` of a stored one),
            an operation and its parameters. Example: {'lattice': {'dimensions': 2, 'size': 10},
            'operation': 'shortest_path', 'params': {'end': [9, 9], 'start': [0, 0]}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobAccepted | Problem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: JobIn,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[JobAccepted | Problem]:
    """ Submit a job. It is validated, stored with its outbox row in one
    transaction, and answered 202; a worker computes it later.

    Args:
        idempotency_key (None | str | Unset):
        body (JobIn): A job submission: a lattice (inline, or `lattice_id` of a stored one),
            an operation and its parameters. Example: {'lattice': {'dimensions': 2, 'size': 10},
            'operation': 'shortest_path', 'params': {'end': [9, 9], 'start': [0, 0]}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobAccepted | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: JobIn,
    idempotency_key: None | str | Unset = UNSET,

) -> JobAccepted | Problem | None:
    """ Submit a job. It is validated, stored with its outbox row in one
    transaction, and answered 202; a worker computes it later.

    Args:
        idempotency_key (None | str | Unset):
        body (JobIn): A job submission: a lattice (inline, or `lattice_id` of a stored one),
            an operation and its parameters. Example: {'lattice': {'dimensions': 2, 'size': 10},
            'operation': 'shortest_path', 'params': {'end': [9, 9], 'start': [0, 0]}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobAccepted | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
