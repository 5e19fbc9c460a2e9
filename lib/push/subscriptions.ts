import { z } from "zod";
import { decodeBase64Url, encodeBase64Url } from "../text/mod.ts";
import { PushError } from "./errors.ts";

/** When a user's notifications are pushed to their devices. */
export const PUSH_WHEN = ["away", "always", "never"] as const;

/**
 * - `away` (default): when no connection of the user received it within
 *   `PUSH_DELAY_SECONDS` (a `requiresAck` one: when nobody acked it by then);
 * - `always`: at once, even while a tab is open;
 * - `never`: not pushed.
 */
export type PushWhen = (typeof PUSH_WHEN)[number];

/** A browser's `PushSubscription.toJSON()`, as `POST /api/notifications/push-subscriptions` takes it. */
export const pushSubscriptionSchema = z.object({
  endpoint: z.string().min(1).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: z.string().min(1).max(128),
    auth: z.string().min(1).max(64),
  }).strict(),
  /** A name for the device the user recognizes (e.g. "Chrome on Android"). */
  label: z.string().max(64).optional(),
}).strict();

/** A subscription as a browser sends it. */
export type PushSubscriptionInput = z.infer<typeof pushSubscriptionSchema>;

/** A user's push settings (part of their notification preferences). */
export const pushSettingsSchema = z.object({
  when: z.enum(PUSH_WHEN).default("away"),
  /** Per notification type, overriding `when`. */
  types: z.record(z.string().max(100), z.enum(PUSH_WHEN)).default({}),
}).strict();

/** A user's push settings. */
export type PushSettings = z.infer<typeof pushSettingsSchema>;

const deviceSchema = z.object({
  id: z.string(),
  endpoint: z.string(),
  keys: z.object({ p256dh: z.string(), auth: z.string() }),
  label: z.string().nullable(),
  createdAt: z.string(),
});

/** One subscribed browser of a user. */
export type PushDevice = z.infer<typeof deviceSchema>;

const stateSchema = z.object({
  settings: pushSettingsSchema,
  devices: z.array(deviceSchema),
});

/** Everything push knows about one user: one KV value, read once per push decision. */
export type PushUserState = z.infer<typeof stateSchema>;

/** What a user's preferences show of a device: never its endpoint or keys (capabilities). */
export const pushDeviceViewSchema = z.object({
  id: z.string().describe("The device's id (derived from its endpoint)."),
  label: z.string().nullable().describe("The name the device was subscribed with."),
  service: z.string().describe("The push service's origin, e.g. `https://fcm.googleapis.com`."),
  createdAt: z.iso.datetime().describe("When the device subscribed."),
});

/** What a user's preferences show of a device. */
export type PushDeviceView = z.infer<typeof pushDeviceViewSchema>;

/** The `push` part of `GET /api/notifications/preferences`. */
export const pushPreferencesViewSchema = z.object({
  when: z.enum(PUSH_WHEN).describe("When notifications are pushed to the user's devices."),
  types: z.record(z.string(), z.enum(PUSH_WHEN)).describe("Per type, overriding `when`."),
  subscriptions: z.array(pushDeviceViewSchema).describe("The subscribed devices."),
});

/** The `push` part of the user's preferences. */
export type PushPreferencesView = z.infer<typeof pushPreferencesViewSchema>;

/** Devices a user may have; subscribing one more replaces the oldest. */
export const MAX_DEVICES_PER_USER = 10;

const EMPTY: PushUserState = { settings: { when: "away", types: {} }, devices: [] };

/**
 * Checks a subscription's keys (RFC 8291 §3.2): `p256dh` a P-256 point in
 * uncompressed form, `auth` 16 bytes. Throws {@linkcode PushError}.
 */
export async function checkSubscriptionKeys(keys: PushDevice["keys"]): Promise<void> {
  const point = bytesOrNull(keys.p256dh);
  if (!point || point.length !== 65 || point[0] !== 4) {
    throw new PushError(
      "invalid_push_subscription",
      "keys.p256dh must be an uncompressed P-256 key (65 bytes)",
    );
  }
  try {
    await crypto.subtle.importKey("raw", point, { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch {
    throw new PushError("invalid_push_subscription", "keys.p256dh is not a point on P-256");
  }
  if (bytesOrNull(keys.auth)?.length !== 16) {
    throw new PushError("invalid_push_subscription", "keys.auth must be 16 bytes, base64url");
  }
}

function bytesOrNull(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return decodeBase64Url(text);
  } catch {
    return null;
  }
}

/** A device's id: derived from its endpoint, so subscribing again finds the same device. */
export async function deviceId(endpoint: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
  return encodeBase64Url(new Uint8Array(digest).slice(0, 12));
}

/** The view of a device shown to its user. */
export function toDeviceView(device: PushDevice): PushDeviceView {
  let service = "";
  try {
    service = new URL(device.endpoint).origin;
  } catch { /* stored endpoints are URLs */ }
  return { id: device.id, label: device.label, service, createdAt: device.createdAt };
}

function stateKey(userId: string): Deno.KvKey {
  return ["push", "user", userId];
}

function parseState(value: unknown): PushUserState | null {
  const parsed = stateSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * Each user's push settings and subscribed devices, one KV value per user,
 * changed with atomic checks (two tabs subscribing at once both land).
 */
export class PushSubscriptionStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** A user's state (strongly consistent). */
  async get(userId: string): Promise<PushUserState> {
    const entry = await this.#kv.get(stateKey(userId));
    return parseState(entry.value) ?? structuredClone(EMPTY);
  }

  /**
   * Several users' states with eventually consistent reads, ten per `getMany`,
   * all at once; users without any are left out.
   */
  async getMany(userIds: readonly string[]): Promise<Map<string, PushUserState>> {
    const found = new Map<string, PushUserState>();
    const chunks: string[][] = [];
    for (let start = 0; start < userIds.length; start += 10) {
      chunks.push(userIds.slice(start, start + 10));
    }
    await Promise.all(chunks.map(async (chunk) => {
      const entries = await this.#kv.getMany(chunk.map(stateKey), { consistency: "eventual" });
      chunk.forEach((userId, index) => {
        const state = parseState(entries[index]!.value);
        if (state) found.set(userId, state);
      });
    }));
    return found;
  }

  async #change(
    userId: string,
    change: (state: PushUserState) => PushUserState | null,
  ): Promise<PushUserState> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#kv.get(stateKey(userId));
      const current = parseState(entry.value) ?? structuredClone(EMPTY);
      const next = change(current);
      if (!next) return current;
      const result = await this.#kv.atomic().check(entry).set(stateKey(userId), next).commit();
      if (result.ok) return next;
    }
    throw new Error(`Cannot change the push devices of "${userId}": too many concurrent writers`);
  }

  /**
   * Adds a device, or refreshes it (new keys, label) when its endpoint is known.
   * Past {@linkcode MAX_DEVICES_PER_USER} the oldest device goes.
   */
  async add(
    userId: string,
    subscription: { endpoint: string; keys: PushDevice["keys"]; label?: string | undefined },
    now: Date = new Date(),
  ): Promise<{ device: PushDevice; created: boolean }> {
    const id = await deviceId(subscription.endpoint);
    let created = true;
    let device: PushDevice | null = null;
    await this.#change(userId, (state) => {
      const existing = state.devices.find((item) => item.id === id);
      created = !existing;
      device = {
        id,
        endpoint: subscription.endpoint,
        keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth },
        label: subscription.label ?? existing?.label ?? null,
        createdAt: existing?.createdAt ?? now.toISOString(),
      };
      const others = state.devices.filter((item) => item.id !== id);
      return {
        settings: state.settings,
        devices: [...others, device].slice(-MAX_DEVICES_PER_USER),
      };
    });
    return { device: device!, created };
  }

  /** Removes a device by its id or endpoint; false when the user has no such device. */
  async remove(userId: string, which: { id?: string; endpoint?: string }): Promise<boolean> {
    const id = which.id ?? (which.endpoint ? await deviceId(which.endpoint) : "");
    let removed = false;
    await this.#change(userId, (state) => {
      const devices = state.devices.filter((item) => item.id !== id);
      removed = devices.length !== state.devices.length;
      return removed ? { settings: state.settings, devices } : null;
    });
    return removed;
  }

  /** Replaces the user's push settings. */
  async setSettings(userId: string, settings: PushSettings): Promise<PushUserState> {
    return await this.#change(userId, (state) => ({ settings, devices: state.devices }));
  }
}
