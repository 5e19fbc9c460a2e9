/**
 * Prints the API key Switchboard generated and stored in KV.
 *
 *     deno task api-key
 */
import { loadConfig } from "../lib/config/mod.ts";
import { openKv } from "../lib/kv/mod.ts";
import { readStoredApiKey } from "../lib/identity/secrets.ts";

const config = loadConfig(Deno.env.toObject());
if (config.SWITCHBOARD_API_KEY) {
  console.log("SWITCHBOARD_API_KEY is set in the environment; that is the key in force.");
  Deno.exit(0);
}
const kv = await openKv(config.KV_PATH);
const key = await readStoredApiKey(kv);
kv.close();
if (!key) {
  console.error(`No API key stored in ${config.KV_PATH} yet: start Switchboard once first.`);
  Deno.exit(1);
}
console.log(key);
