/**
 * The page's side of Web Push (browser-safe): turning push on for this device
 * (asking for permission only then), telling whether it is on, turning it off,
 * and keeping the token the service worker acks with up to date.
 */
import {
  APP_STORAGE_KEYS,
  deleteValue,
  type PushAuth,
  writeValue,
} from "../web_app/app_storage.ts";
import { registerServiceWorker, serviceWorkersSupported } from "../web_app/client.ts";
import { decodeBase64Url } from "../text/mod.ts";
import { apiFetch } from "../client/mod.ts";

/** Whose device it is: the user's token and id (our pages' identity). */
export interface PushIdentity {
  token: string;
  userId: string;
}

/** Where push stands on this device. */
export type DevicePushState = "unsupported" | "denied" | "off" | "on";

/** Thrown when push cannot be turned on; `reason` says why. */
export class PushSetupError extends Error {
  override name = "PushSetupError";
  readonly reason: "unsupported" | "denied" | "failed";
  constructor(reason: PushSetupError["reason"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** True when this browser can get pushed notifications. */
export function pushSupported(): boolean {
  return serviceWorkersSupported() && "PushManager" in globalThis && "Notification" in globalThis;
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration("/");
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/** Where push stands on this device, without asking anything. */
export async function devicePushState(): Promise<DevicePushState> {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  if (Notification.permission !== "granted") return "off";
  return (await currentSubscription()) ? "on" : "off";
}

async function saveAuth(identity: PushIdentity): Promise<void> {
  const auth: PushAuth = {
    token: identity.token,
    userId: identity.userId,
    savedAt: new Date().toISOString(),
  };
  await writeValue(APP_STORAGE_KEYS.pushAuth, auth);
}

/** A short name of this browser for the user's list of devices. */
function deviceLabel(): string {
  const agent = navigator.userAgent;
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /Firefox\//.test(agent)
    ? "Firefox"
    : /Chrome\//.test(agent)
    ? "Chrome"
    : /Safari\//.test(agent)
    ? "Safari"
    : "Browser";
  const system = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
    ? "iOS"
    : /Mac OS/.test(agent)
    ? "macOS"
    : /Windows/.test(agent)
    ? "Windows"
    : /Linux/.test(agent)
    ? "Linux"
    : "";
  return system ? `${browser} on ${system}` : browser;
}

/**
 * Turns push on for this device: asks for notification permission (call it
 * from a click), registers the service worker, subscribes with the server's
 * VAPID key, stores the subscription for the user, and keeps the user's token
 * in IndexedDB for the service worker (to ack a clicked notification).
 * Throws {@linkcode PushSetupError}.
 */
export async function enablePush(identity: PushIdentity, apiBase = ""): Promise<void> {
  if (!pushSupported()) {
    throw new PushSetupError("unsupported", "This browser cannot show pushed notifications");
  }
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new PushSetupError("denied", "Notifications are blocked for this site");
  }
  const registration = await registerServiceWorker();
  if (!registration) throw new PushSetupError("failed", "The service worker did not start");
  try {
    const { publicKey } = await apiFetch<{ publicKey: string }>(
      `${apiBase}/api/notifications/push-key`,
    );
    const applicationServerKey = decodeBase64Url(publicKey);
    if (applicationServerKey.length === 0) throw new Error("The server sent no push key");
    let subscription = await registration.pushManager.getSubscription();
    const sameKey = subscription?.options.applicationServerKey &&
      new Uint8Array(subscription.options.applicationServerKey).join() ===
        applicationServerKey.join();
    if (subscription && !sameKey) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey,
    });
    await apiFetch(`${apiBase}/api/notifications/push-subscriptions`, {
      method: "POST",
      token: identity.token,
      json: { ...subscription.toJSON(), label: deviceLabel() },
    });
    await saveAuth(identity);
  } catch (error) {
    if (error instanceof PushSetupError) throw error;
    throw new PushSetupError("failed", error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

/** Turns push off for this device: unsubscribes, forgets it on the server, drops the token. */
export async function disablePush(identity: PushIdentity, apiBase = ""): Promise<void> {
  const subscription = await currentSubscription();
  if (subscription) {
    // Forgotten on the server if it can be; unsubscribing makes its endpoint useless anyway.
    await apiFetch(`${apiBase}/api/notifications/push-subscriptions`, {
      method: "DELETE",
      token: identity.token,
      json: { endpoint: subscription.endpoint },
    }).catch(() => {});
    await subscription.unsubscribe();
  }
  await deleteValue(APP_STORAGE_KEYS.pushAuth);
}

/**
 * Keeps the service worker's token current (our pages renew the guest token):
 * call it on page load; does nothing unless push is on for this device.
 */
export async function refreshPushAuth(identity: PushIdentity): Promise<void> {
  if ((await devicePushState().catch(() => "off")) === "on") await saveAuth(identity);
}
