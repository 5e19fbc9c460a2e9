/**
 * The installable app in real Chromium: the service worker registers from our
 * pages; "Notify me on this device" asks for permission on its click only; a
 * notification the server pushed (to the fake push service, which decrypts it)
 * is delivered to the worker over the DevTools protocol
 * (`ServiceWorker.deliverPushMessage`) and shown, and the worker's click
 * handling acks it; the app shell opens offline with the offline banner; a
 * share-target POST with two files and text lands on /share with both picked.
 *
 * What is simulated, and why:
 * - `PushManager.subscribe` is replaced in the page by one that returns a
 *   subscription on the fake push service: Chromium has no Push API in an
 *   incognito context, and a real subscription waits on FCM, which a test
 *   machine cannot reach. Everything after it is real: the page posts the
 *   subscription to the server and stores its token for the worker.
 * - The push service's hop to the browser is `ServiceWorker.deliverPushMessage`
 *   with the payload the fake push service decrypted from the server's request.
 *   The test learns that the worker finished handling it from Chromium's own
 *   record of push events (DevTools `BackgroundService`, "Push event
 *   completed"), and only then reads the worker's notifications, once:
 *   Chromium's `getNotifications()` deletes from its store every notification
 *   the platform does not list as displayed yet, unless it was created after
 *   that read began. A read racing the show (the test used to poll every 25 ms
 *   from the push on) could drop the notification for good while it stayed on
 *   screen, and every later read listed nothing: on a busy machine, where the
 *   show takes longer, the test then waited 30 s and failed.
 * - The click: headless Chromium has no notification UI to click, so the test
 *   dispatches a `notificationclick` NotificationEvent (with the notification
 *   `getNotifications()` returned) in the worker, which runs the worker's own
 *   listener. Opening a window needs a real click and is not checked.
 * - The system share sheet: a page posts the same multipart form the
 *   manifest's `share_target` declares to its `action`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { BrowserContext, Page, Worker } from "playwright-core";
import { browserAvailable, launchBrowser, watchConsole } from "./browser.ts";
import { FakePushService, makeTestCertificate } from "./_fake_push_service.ts";
import { request, startServer, TEST_API_KEY, waitFor } from "./harness.ts";
import { publishOk } from "./notifications_fixtures.ts";

const BROWSER_TEST = { ignore: !browserAvailable(), sanitizeOps: false, sanitizeResources: false };

/** The worker of the page's origin, once it is active. */
async function activeWorker(context: BrowserContext, page: Page): Promise<Worker> {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  const worker = context.serviceWorkers()[0] ?? await context.waitForEvent("serviceworker");
  assert.match(worker.url(), /\/sw\.js$/);
  return worker;
}

/** How often the page called `Notification.requestPermission` (counted by the init script). */
function permissionAsks(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as unknown as { permissionAsks: number }).permissionAsks);
}

Deno.test({
  name: "a pushed notification is shown by the service worker and its click acks it",
  ...BROWSER_TEST,
  async fn() {
    const tls = await makeTestCertificate();
    await using fake = FakePushService.start(tls);
    await using server = await startServer({
      env: {
        PUSH_ENDPOINT_HOSTS: fake.host,
        // At once: a requiresAck notification nobody acked is pushed without waiting.
        PUSH_DELAY_SECONDS: "0",
        DENO_CERT: tls.certPath,
      },
    });
    const subscription = await fake.subscribe();
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      await context.grantPermissions(["notifications"], { origin: server.url });
      await context.addInitScript((fakeSubscription) => {
        const counter = globalThis as unknown as { permissionAsks: number };
        counter.permissionAsks = 0;
        const ask = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = () => {
          counter.permissionAsks++;
          return ask();
        };
        let current: PushSubscription | null = null;
        PushManager.prototype.getSubscription = () => Promise.resolve(current);
        PushManager.prototype.subscribe = (options) => {
          current = {
            endpoint: fakeSubscription.endpoint,
            expirationTime: null,
            options: { applicationServerKey: options?.applicationServerKey, userVisibleOnly: true },
            toJSON: () => fakeSubscription,
            unsubscribe: () => {
              current = null;
              return Promise.resolve(true);
            },
          } as unknown as PushSubscription;
          return Promise.resolve(current);
        };
      }, subscription);
      const page = await context.newPage();
      const errors = watchConsole(page);
      await page.goto(`${server.url}/notifications`);
      await page.waitForSelector('[data-island="NotificationPlayground"][data-hydrated="true"]');
      // The guest identity arrives after hydration (a request): connected means it is there.
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="connection-status"]')?.textContent?.startsWith(
          "Connected",
        )
      );
      const userId = (await page.getByTestId("identity-user").textContent()) ?? "";
      assert.match(userId, /^guest_/);
      const worker = await activeWorker(context, page);

      // Permission is asked on the click, never on load.
      await page.getByTestId("bell-button").click();
      const enable = page.getByTestId("push-enable");
      await enable.waitFor();
      assert.equal(await permissionAsks(page), 0, "nothing asked on load");
      await enable.click();
      await page.locator('[data-testid="push"][data-state="on"]').waitFor();
      assert.equal(await permissionAsks(page), 1, "asked once, on the click");
      const token = await page.evaluate(() =>
        JSON.parse(localStorage.getItem("switchboard.guest") ?? "{}").token as string
      );
      const preferences = await request(`${server.url}/api/notifications/preferences`, {
        bearer: token,
      });
      assert.deepEqual(
        preferences.body.push.subscriptions.map((device: { service: string }) => device.service),
        [fake.origin],
      );

      // The tab goes away: only the worker is left to show what comes.
      const cdp = await context.newCDPSession(page);
      const registration = new Promise<string>((resolve) => {
        cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
          const ours = registrations.find((item) => item.scopeURL === `${server.url}/`);
          if (ours) resolve(ours.registrationId);
        });
      });
      await cdp.send("ServiceWorker.enable");
      const registrationId = await registration;
      let pushHandled: string | null = null;
      cdp.on("BackgroundService.backgroundServiceEventReceived", ({ backgroundServiceEvent }) => {
        const { eventName, eventMetadata, serviceWorkerRegistrationId } = backgroundServiceEvent;
        if (eventName !== "Push event completed") return;
        if (serviceWorkerRegistrationId !== registrationId) return;
        pushHandled = eventMetadata.find((item) => item.key === "Status")?.value ?? "no status";
      });
      await cdp.send("BackgroundService.startObserving", { service: "pushMessaging" });
      await cdp.send("BackgroundService.setRecording", {
        shouldRecord: true,
        service: "pushMessaging",
      });
      await page.goto("about:blank");

      const [id] = await publishOk(server, {
        userId,
        type: "file_uploaded",
        data: { fileId: "f1", fileName: "report.pdf", size: 2048 },
        requiresAck: true,
      });
      const [push] = await fake.waitFor(1);
      assert.equal(push!.problem, null);
      assert.equal(push!.payload!.id, id);
      await cdp.send("ServiceWorker.deliverPushMessage", {
        origin: server.url,
        registrationId,
        data: JSON.stringify(push!.payload),
      });

      // Its push handler has settled (showNotification resolved: the notification is on
      // display); no read of the notifications before that (see the module comment).
      assert.equal(
        await waitFor(() => pushHandled, {
          timeoutMs: 30_000,
          message: "the worker finished handling the push",
        }),
        "Success",
      );

      // The worker that showed it: Chromium may have stopped the idle one after the tab left
      // and started another for the push (then the context lists the new one last).
      const pushedWorker = () => context.serviceWorkers().at(-1) ?? worker;
      const shown = await pushedWorker().evaluate(async (tag) => {
        const scope = globalThis as unknown as { registration: ServiceWorkerRegistration };
        const [notification] = await scope.registration.getNotifications({ tag });
        return notification
          ? { title: notification.title, body: notification.body, data: notification.data }
          : null;
      }, id!);
      assert.ok(shown, "the worker showed the pushed notification");
      assert.equal(shown.title, "File uploaded");
      assert.match(shown.body, /report\.pdf/);
      assert.deepEqual(shown.data, {
        id,
        type: "file_uploaded",
        link: push!.payload!.link,
        requiresAck: true,
      });

      // The click, dispatched in the worker (see the module comment).
      await pushedWorker().evaluate(async (tag) => {
        const scope = globalThis as unknown as {
          registration: ServiceWorkerRegistration;
          NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
        };
        const [notification] = await scope.registration.getNotifications({ tag });
        globalThis.dispatchEvent(
          new scope.NotificationEvent("notificationclick", { notification: notification! }),
        );
      }, id!);
      const entry = await waitFor(async () => {
        const log = await request(
          `${server.url}/api/notifications/log?userId=${userId}&status=acknowledged`,
          { bearer: TEST_API_KEY },
        );
        return log.body.entries.find((item: { id: string }) => item.id === id);
      }, { message: "the click acked the notification" });
      assert.equal(entry.acknowledged, true);
      await waitFor(async () => {
        const log = await request(`${server.url}/api/notifications/log?userId=${userId}`, {
          bearer: TEST_API_KEY,
        });
        return log.body.entries.find((item: { id: string; read: boolean }) => item.id === id)?.read;
      }, { message: "the click marked it read" });
      assert.equal(
        await pushedWorker().evaluate(async () =>
          (await (globalThis as unknown as { registration: ServiceWorkerRegistration })
            .registration.getNotifications()).length
        ),
        0,
        "the clicked notification is closed",
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the app shell opens offline with the offline state; a share-target POST lands on /share",
  ...BROWSER_TEST,
  async fn() {
    await using server = await startServer();
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/share`);
      await page.waitForSelector('[data-island="ShareLive"][data-hydrated="true"]');
      const worker = await activeWorker(context, page);
      // The install step cached the shell (its pages are fetched while installing); a page
      // outside it (here the receive page; download links alike) is never stored.
      await page.goto(`${server.url}/r`);
      const cached = await worker.evaluate(async () => {
        const names = await caches.keys();
        const cache = await caches.open(
          names.find((name) => name.startsWith("switchboard-shell-"))!,
        );
        return (await cache.keys()).map((request) => new URL(request.url).pathname).sort();
      });
      for (const path of ["/", "/notifications", "/share", "/static/styles.css"]) {
        assert.ok(cached.includes(path), `${path} is in the shell cache: ${cached}`);
      }
      assert.ok(!cached.includes("/r"), `/r is not stored: ${cached}`);

      await context.setOffline(true);
      const offline = await page.goto(`${server.url}/notifications`);
      assert.equal(offline?.headers()["x-switchboard-offline"], "1");
      await page.getByTestId("offline-banner").waitFor();
      assert.match(await page.title(), /Notifications/);
      const unsaved = await page.goto(`${server.url}/chat/lobby`);
      assert.equal(unsaved?.status(), 503);
      assert.match(await page.getByTestId("offline-banner").textContent() ?? "", /offline/);
      await context.setOffline(false);

      // A share the server got (no worker yet) is sent here with a note.
      await page.goto(`${server.url}/share?shared=unavailable`);
      await page.getByTestId("share-lost").waitFor();

      // The share sheet's POST, as the manifest's share_target declares it.
      const manifest = await (await fetch(`${server.url}/manifest.webmanifest`)).json();
      const target = manifest.share_target;
      await page.goto(`${server.url}/`);
      await page.evaluate(({ action, params }) => {
        const form = document.createElement("form");
        form.method = "post";
        form.enctype = "multipart/form-data";
        form.action = action;
        const files = document.createElement("input");
        files.type = "file";
        files.name = params.files[0].name;
        files.multiple = true;
        const text = document.createElement("input");
        text.name = params.text;
        text.value = "Photos from the trip";
        form.append(files, text);
        form.id = "share-sheet";
        document.body.append(form);
      }, target);
      await page.setInputFiles("#share-sheet input[type=file]", [
        {
          name: "beach.jpg",
          mimeType: "image/jpeg",
          buffer: Buffer.from("jpeg bytes"),
        },
        { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("notes") },
      ]);
      await Promise.all([
        page.waitForURL(`${server.url}/share?shared=1`),
        page.evaluate(() => (document.getElementById("share-sheet") as HTMLFormElement).submit()),
      ]);
      const picked = page.getByTestId("live-picked");
      await picked.waitFor();
      assert.deepEqual(await picked.locator(".share-file-name").allTextContents(), [
        "beach.jpg",
        "notes.txt",
      ]);
      assert.equal(await page.getByTestId("live-snippet").inputValue(), "Photos from the trip");
      assert.equal(await page.getByTestId("share-lost").count(), 0);
    } finally {
      await browser.close();
    }
  },
});
