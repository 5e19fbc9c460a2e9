/**
 * The constructor of the `ws` package (Node 20 has no global WebSocket): the
 * browser-style `(url, protocols)` plus the options argument `ws` adds.
 */
export type WsConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocket;

/**
 * Adapts the `ws` package's WebSocket class for {@linkcode RealtimeClient} and
 * {@linkcode Switchboard} on Node 20: the token the client would offer as the
 * subprotocol `token.<token>` is sent as `Authorization: Bearer <token>` instead.
 * (`ws` joins offered subprotocols with "," and Deno's server only reads lists
 * joined with ", ", so the subprotocol way fails there; browsers, Deno and Node
 * ≥ 22's global WebSocket need no adapter.)
 *
 * @example
 * ```ts ignore
 * import WebSocket from "ws";
 * const board = new Switchboard({ baseUrl, token, WebSocket: wsAdapter(WebSocket) });
 * ```
 */
export function wsAdapter(Ws: WsConstructor): typeof WebSocket {
  const Adapted = class extends (Ws as unknown as new (
    url: string,
    protocols?: string | string[],
    options?: { headers?: Record<string, string> },
  ) => object) {
    constructor(url: string | URL, protocols?: string | string[]) {
      const offered = typeof protocols === "string" ? [protocols] : protocols ?? [];
      const token = offered.find((protocol) => protocol.startsWith("token."));
      const rest = offered.filter((protocol) => protocol !== token && protocol !== "switchboard");
      super(
        String(url),
        rest,
        token ? { headers: { Authorization: `Bearer ${token.slice("token.".length)}` } } : {},
      );
    }
  };
  return Adapted as unknown as typeof WebSocket;
}
