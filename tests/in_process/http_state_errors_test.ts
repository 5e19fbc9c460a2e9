/**
 * Error codes that need something to exist first (a transfer session, an
 * uploaded file, a notification), in-process on `:memory:` KV.
 */
import assert from "node:assert/strict";
import { API_KEY, errorCode, json, startInProcess } from "./_app.ts";

const BASE = "http://localhost";

Deno.test("live transfer: a code joins once, a closed session is gone, a wrong token is refused", async () => {
  await using server = await startInProcess();
  const call = (path: string, body: unknown) =>
    server.app.request(new Request(`${BASE}${path}`, json("POST", body)));
  const created = await call("/api/transfer/create", { files: [{ name: "a.txt", size: 1 }] });
  assert.equal(created.status, 201);
  const { transferId, code, senderToken } = await created.json();

  const wrong = await call("/api/transfer/close", { transferId, token: "tr_not_the_token" });
  assert.equal(wrong.status, 403);
  assert.equal(await errorCode(wrong), "invalid_transfer_token");

  assert.equal((await call("/api/transfer/join", { code })).status, 200);
  const again = await call("/api/transfer/join", { code });
  assert.equal(again.status, 409);
  assert.equal(await errorCode(again), "session_already_joined");

  const closed = await call("/api/transfer/close", { transferId, token: senderToken });
  assert.equal(closed.status, 200);
  assert.equal((await closed.json()).state, "closed");
  const afterClose = await call("/api/transfer/join", { code });
  assert.equal(afterClose.status, 410);
  assert.equal(await errorCode(afterClose), "session_closed");
});

Deno.test("link mode: size limit, download limit, delete token and ranges give their codes", async () => {
  await using server = await startInProcess({ MAX_UPLOAD_BYTES: "1024" });
  const upload = (body: Uint8Array<ArrayBuffer>, query = "") =>
    server.app.request(
      new Request(`${BASE}/api/upload${query}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "x-filename": "notes.txt" },
        body,
      }),
    );
  const tooLarge = await upload(new Uint8Array(2048));
  assert.equal(tooLarge.status, 413);
  assert.equal(await errorCode(tooLarge), "file_too_large");

  const stored = await upload(new TextEncoder().encode("hello"), "?maxDownloads=1");
  assert.equal(stored.status, 201);
  const { id, deleteToken } = await stored.json();
  assert.equal(typeof deleteToken, "string");

  const outside = await server.app.request(`${BASE}/api/download/${id}`, {
    headers: { range: "bytes=100-200" },
  });
  assert.equal(outside.status, 416);
  assert.equal(await errorCode(outside), "range_not_satisfiable");

  const download = await server.app.request(`${BASE}/api/download/${id}`);
  assert.equal(download.status, 200);
  assert.equal(await download.text(), "hello");
  const spent = await server.app.request(`${BASE}/api/download/${id}`);
  assert.equal(spent.status, 410);
  assert.equal(await errorCode(spent), "expired");

  const other = await upload(new TextEncoder().encode("bye"));
  const otherId = (await other.json()).id;
  const wrongToken = await server.app.request(`${BASE}/api/download/${otherId}`, {
    method: "DELETE",
    headers: { "x-delete-token": "dt_not_the_token" },
  });
  assert.equal(wrongToken.status, 403);
  assert.equal(await errorCode(wrongToken), "wrong_delete_token");
});

Deno.test("notifications: bad user ids and oversized data are refused before anything is stored", async () => {
  await using server = await startInProcess({ NOTIFY_MAX_DATA_BYTES: "1024" });
  const publish = (body: unknown) =>
    server.app.request(
      new Request(`${BASE}/api/notifications/publish`, json("POST", body, API_KEY)),
    );
  const badUser = await publish({ userId: "not a user id!", type: "success" });
  assert.equal(badUser.status, 400);
  assert.equal(await errorCode(badUser), "invalid_user");
  const big = await publish({
    userId: "ada",
    type: "success",
    data: { message: "x".repeat(2048) },
  });
  assert.equal(big.status, 413);
  assert.equal(await errorCode(big), "data_too_large");
  const history = await server.app.request(
    new Request(`${BASE}/api/notifications/log`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    }),
  );
  assert.equal(history.status, 200);
  assert.deepEqual((await history.json()).entries, [], "nothing was stored");
});
