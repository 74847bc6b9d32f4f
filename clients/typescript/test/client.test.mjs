// The TypeScript client against a running fleet (scripts/check-typescript-client.sh
// starts one and passes CATALYTIC_URL and CATALYTIC_API_KEY), with node's test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { Catalytic, CatalyticError, sdk, verifyWebhook } from "../dist/index.js";

const api = new Catalytic(process.env.CATALYTIC_URL, process.env.CATALYTIC_API_KEY);
const pathJob = (end) => ({
  lattice: { dimensions: 2, size: 10 },
  operation: "shortest_path",
  params: { start: [0, 0], end },
});

test("submitAndWait gives the result", async () => {
  const job = await api.submitAndWait(pathJob([9, 9]), 60);
  assert.equal(job.status, "succeeded");
  assert.equal(job.result.length, 18);
  assert.deepEqual(job.result.path.at(-1), [9, 9]);
});

test("the generated client reads the same job", async () => {
  const job = await api.submitAndWait(pathJob([3, 4]), 60);
  const { data, response } = await sdk.getJob({ client: api.client, path: { id: job.id } });
  assert.equal(response.status, 200);
  assert.equal(data.status, "succeeded");
  assert.equal(data.id, job.id);
});

test("a bulk submit answers each item", async () => {
  const answer = await api.submitBatch([pathJob([1, 1]), pathJob([99, 0]), pathJob([2, 2])]);
  assert.deepEqual([answer.accepted, answer.refused], [2, 1]);
  assert.deepEqual(answer.results[1].error.errors.map((e) => e.field), ["jobs[1].params.end[0]"]);
  const done = await api.wait(answer.results[2].id, 60);
  assert.equal(done.result.length, 4);
});

test("a refusal carries the problem", async () => {
  await assert.rejects(api.submit({ operation: "shortest_path", params: {} }), (e) => {
    assert.ok(e instanceof CatalyticError);
    assert.equal(e.status, 422);
    assert.ok(e.fields.includes("lattice"), e.fields);
    assert.equal(e.retryAfter, null);
    return true;
  });
  await assert.rejects(api.get("01a21317-7c9d-71ac-a0d4-ab1ce41bfe66"), (e) => e.status === 404);
});

test("a cancelled job ends the wait and is deleted", async () => {
  const accepted = await api.submit({ ...pathJob([5, 5]), delay_secs: 600 });
  assert.equal(accepted.status, "scheduled");
  await api.cancel(accepted.id);
  const done = await api.wait(accepted.id, 30);
  assert.equal(done.status, "cancelled");
  await api.delete(accepted.id);
  await assert.rejects(api.get(accepted.id), (e) => e.status === 404);
});

test("a stored field downloads as npy", async () => {
  const job = await api.submitAndWait(
    { lattice: { size: [400, 300] }, operation: "distances", params: { source: [0, 0] } },
    120,
  );
  const part = job.result.parts[0];
  const bytes = await api.download(job.id, part.name);
  assert.equal(bytes.length, part.bytes);
  assert.equal(Buffer.from(bytes.subarray(0, 6)).toString("latin1"), "\x93NUMPY");
  assert.ok(Buffer.from(bytes.subarray(0, 128)).toString("latin1").includes("'shape': (400, 300)"));
});

test("webhook signatures are checked", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = JSON.stringify({ type: "job.succeeded", data: { id: "x" } });
  const now = new Date();
  const headers = {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign("msg_1", now, body),
  };
  assert.equal(verifyWebhook(secret, body, headers).type, "job.succeeded");
  assert.throws(() => verifyWebhook(secret, body.replace("succeeded", "failed"), headers));
});
