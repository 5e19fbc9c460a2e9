import { useEffect, useState } from "preact/hooks";
import {
  type DevicePushState,
  devicePushState,
  disablePush,
  enablePush,
  type PushIdentity,
  PushSetupError,
  refreshPushAuth,
} from "../lib/push/client.ts";
import { registerServiceWorker } from "../lib/web_app/client.ts";

/**
 * "Notify me on this device": turns Web Push on or off for this browser (our
 * own pages only; the service worker must be on Switchboard's origin). Asks for
 * notification permission only when clicked, never on load.
 */
export function PushOnThisDevice(props: { identity: PushIdentity | null }) {
  const [state, setState] = useState<DevicePushState | "working" | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    void devicePushState().then(setState).catch(() => setState("unsupported"));
  }, []);

  if (state === null || state === "unsupported" || !props.identity) return null;
  const identity = props.identity;

  const turnOn = async () => {
    setState("working");
    setProblem(null);
    try {
      await enablePush(identity);
      setState("on");
    } catch (error) {
      const denied = error instanceof PushSetupError && error.reason === "denied";
      setState(denied ? "denied" : "off");
      if (!denied) setProblem(error instanceof Error ? error.message : String(error));
    }
  };
  const turnOff = async () => {
    setState("working");
    await disablePush(identity).catch(() => {});
    setState(await devicePushState().catch(() => "off" as const));
  };

  return (
    <div class="sb-push" data-testid="push" data-state={state}>
      {state === "on"
        ? (
          <>
            <span>This device gets notifications while no tab is open.</span>
            <button
              type="button"
              class="sb-link-button"
              data-testid="push-disable"
              onClick={() => void turnOff()}
            >
              Turn off
            </button>
          </>
        )
        : state === "denied"
        ? <span>Notifications are blocked for this site in your browser's settings.</span>
        : (
          <button
            type="button"
            class="sb-push-enable"
            data-testid="push-enable"
            disabled={state === "working"}
            onClick={() => void turnOn()}
          >
            {state === "working" ? "Turning on…" : "Notify me on this device"}
          </button>
        )}
      {problem && <span class="sb-push-problem" role="alert">{problem}</span>}
    </div>
  );
}

/**
 * Registers the service worker (the offline app shell, the share target) and
 * keeps its token current; for our own pages, on load. Asks for no permission.
 */
export function useAppServiceWorker(ownPage: boolean, identity: PushIdentity | null): void {
  useEffect(() => {
    // Never on another site's page (an embedded bell): "/sw.js" there is that site's.
    if (!ownPage) return;
    void registerServiceWorker().then((registration) => {
      if (registration && identity) return refreshPushAuth(identity);
    }).catch(() => {});
  }, [ownPage, identity?.token]);
}
