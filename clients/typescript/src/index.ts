/**
 * Catalytic for TypeScript: a thin layer over the generated client.
 *
 * `./generated` is generated from docs/openapi.json by @hey-api/openapi-ts
 * (`scripts/clients.sh`): every route, typed. This module adds what
 * generation does not give: submit and wait (the API's long-poll), bulk
 * submit, downloads of stored result parts, webhook signature checks, and
 * errors that carry the API's problem body and `Retry-After`.
 *
 * ```ts
 * const api = new Catalytic("https://catalytic.example", "clc_...");
 * const job = await api.submitAndWait({
 *   lattice: { dimensions: 2, size: 10 },
 *   operation: "shortest_path",
 *   params: { start: [0, 0], end: [9, 9] },
 * });
 * console.log(job.result.length); // 18
 * ```
 */
import { Webhook } from "standardwebhooks";
import { createClient, createConfig, type Client } from "./generated/client/index.js";

export * as sdk from "./generated/sdk.gen.js";
export type * from "./generated/types.gen.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
/** The API's long-poll waits at most this long per request. */
const MAX_WAIT_SECS = 60;

// The shapes this layer reads; the generated types name every field.
export type Json = Record<string, any>;

/** The API refused a request: its status, its problem body
 * (application/problem+json: `detail`, `errors` naming each invalid field,
 * `limit` for plan limits) and `Retry-After` in seconds when sent. */
export class CatalyticError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Json,
    readonly retryAfter: number | null,
  ) {
    super(`HTTP ${status}: ${problem.detail ?? problem.title ?? "no detail"}`);
    this.name = "CatalyticError";
  }

  /** The fields a 422 names (`lattice.size`, `jobs[2].params.end`). */
  get fields(): string[] {
    return (this.problem.errors ?? []).map((e: Json) => e.field);
  }
}

/** `submitAndWait` on a job that ended failed or cancelled. */
export class JobFailed extends Error {
  constructor(readonly job: Json) {
    super(`job ${job.id} ${job.status}: ${job.error?.message ?? ""}`);
    this.name = "JobFailed";
  }
}

async function refusal(response: Response): Promise<CatalyticError> {
  const text = await response.text();
  let problem: Json;
  try {
    problem = JSON.parse(text);
  } catch {
    problem = { detail: text };
  }
  const retry = response.headers.get("retry-after");
  return new CatalyticError(response.status, problem, retry === null ? null : Number(retry));
}

/** A tenant's handle on the API, with an API key (`clc_...`) or an access
 * token. `client` is the generated client on the same settings, for every
 * route this layer does not wrap (`sdk.listJobs({ client: api.client })`). */
export class Catalytic {
  readonly client: Client;
  private readonly base: string;

  constructor(baseUrl: string, private readonly token: string) {
    this.base = baseUrl.replace(/\/+$/, "");
    this.client = createClient(createConfig({ baseUrl: this.base, auth: token }));
  }

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await refusal(response);
    return response;
  }

  private async json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
    const response = await this.request(method, path, body, headers);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  /** `POST /v1/jobs`: `{id, status, location}`. */
  submit(job: Json, idempotencyKey?: string): Promise<Json> {
    return this.json("POST", "/v1/jobs", job, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
  }

  /** `POST /v1/jobs/batch` (1-1,000 jobs): one result per job, in order. */
  submitBatch(jobs: Json[], idempotencyKey?: string): Promise<Json> {
    return this.json("POST", "/v1/jobs/batch", { jobs }, idempotencyKey ? { "idempotency-key": idempotencyKey } : {});
  }

  /** `GET /v1/jobs/{id}`; with `wait` (0-60 s) it answers as soon as the job ends. */
  get(id: string, wait?: number): Promise<Json> {
    return this.json("GET", `/v1/jobs/${id}` + (wait === undefined ? "" : `?wait=${wait}`));
  }

  /** The job once it has ended, by long-polls; a 429 or 503 is waited out
   * as its `Retry-After` says. Rejects after `timeoutSecs`. */
  async wait(id: string, timeoutSecs?: number): Promise<Json> {
    const deadline = timeoutSecs === undefined ? Infinity : Date.now() + timeoutSecs * 1000;
    for (;;) {
      const left = deadline === Infinity ? MAX_WAIT_SECS : (deadline - Date.now()) / 1000;
      if (left <= 0) throw new Error(`job ${id} had not ended after ${timeoutSecs} s`);
      let job: Json;
      try {
        job = await this.get(id, Math.max(0, Math.min(MAX_WAIT_SECS, Math.floor(left))));
      } catch (e) {
        if (e instanceof CatalyticError && (e.status === 429 || e.status === 503) && e.retryAfter !== null) {
          await new Promise((r) => setTimeout(r, e.retryAfter! * 1000));
          continue;
        }
        throw e;
      }
      if (TERMINAL.has(job.status)) return job;
    }
  }

  /** Submits `job` and waits for it: the succeeded job, or JobFailed. */
  async submitAndWait(job: Json, timeoutSecs?: number): Promise<Json> {
    const accepted = await this.submit(job);
    const done = await this.wait(accepted.id, timeoutSecs);
    if (done.status !== "succeeded") throw new JobFailed(done);
    return done;
  }

  /** `POST /v1/jobs/{id}/cancel`. */
  cancel(id: string): Promise<Json> {
    return this.json("POST", `/v1/jobs/${id}/cancel`);
  }

  /** `DELETE /v1/jobs/{id}`: a finished job and its result, erased. */
  async delete(id: string): Promise<void> {
    await this.request("DELETE", `/v1/jobs/${id}`);
  }

  /** A stored result part (`result.parts`, e.g. `field`: a .npy file), as bytes. */
  async download(id: string, part: string): Promise<Uint8Array> {
    const response = await this.request("GET", `/v1/jobs/${id}/result/${part}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}

/** Checks a webhook delivery's Standard Webhooks signature with the
 * endpoint's `whsec_...` secret and returns the event; throws for a forged,
 * altered or stale one. */
export function verifyWebhook(secret: string, body: string, headers: Record<string, string>): Json {
  return new Webhook(secret).verify(body, headers) as Json;
}
