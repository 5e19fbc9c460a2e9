/**
 * A small IndexedDB store shared by our pages and the service worker (both
 * run this code; browser-safe). What the service worker needs while no page is
 * open lives here: never in URLs, never in the Cache Storage it serves from.
 */

const DB_NAME = "switchboard-app";
const STORE = "values";

/** What the service worker uses to ack and mark read a notification the user clicked. */
export interface PushAuth {
  /** A user or guest token of the subscribed user. */
  token: string;
  userId: string;
  savedAt: string;
}

/** Files and text shared to Switchboard from the system share sheet, kept for `/share`. */
export interface SharedItems {
  files: File[];
  title: string;
  text: string;
  url: string;
  receivedAt: string;
}

/** The keys of the store. */
export const APP_STORAGE_KEYS = { pushAuth: "push-auth", shared: "shared" } as const;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest | undefined,
): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request?.result as T);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

/** Reads a value (undefined when there is none). */
export function readValue<T>(key: string): Promise<T | undefined> {
  return run<T | undefined>("readonly", (store) => store.get(key));
}

/** Stores a value (structured clone: `File`s included). */
export async function writeValue(key: string, value: unknown): Promise<void> {
  await run("readwrite", (store) => store.put(value, key));
}

/** Deletes a value. */
export async function deleteValue(key: string): Promise<void> {
  await run("readwrite", (store) => store.delete(key));
}

/** Reads a value and deletes it in one transaction (one page takes shared files, once). */
export function takeValue<T>(key: string): Promise<T | undefined> {
  return run<T | undefined>("readwrite", (store) => {
    const request = store.get(key);
    request.onsuccess = () => store.delete(key);
    return request;
  });
}
