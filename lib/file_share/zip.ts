/**
 * "Save all": every received file in one zip, made by `client-zip` (a
 * streaming, store-only zip writer: received files are mostly compressed
 * already, and not compressing keeps it as fast as reading the files).
 */
import { makeZip } from "client-zip";

/** One file for the zip. */
export interface ZipEntry {
  name: string;
  blob: Blob;
}

/**
 * Entry names made unique the way a file manager would (`a.txt`, `a (2).txt`):
 * two files of a transfer may share a name, and a zip with duplicates unpacks
 * to one of them only.
 *
 * @example
 * ```ts
 * uniqueNames(["a.txt", "a.txt", "b"]); // ["a.txt", "a (2).txt", "b"]
 * ```
 */
export function uniqueNames(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let candidate = name;
    const dot = name.lastIndexOf(".");
    const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    for (let copy = 2; taken.has(candidate.toLowerCase()); copy++) {
      candidate = `${stem} (${copy})${extension}`;
    }
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

/** Options of {@linkcode zipFiles}. */
export interface ZipOptions {
  /**
   * Where the zip is streamed to, as it is made: a disk-backed File comes back
   * (the OPFS receive folder's `writeStream`). Without it, or when it fails
   * (e.g. no space left), the zip is gathered into a Blob.
   */
  writeStream?(stream: ReadableStream<Uint8Array>, label: string): Promise<File>;
}

/**
 * One zip of `entries`, streamed from the files (read as the zip is written,
 * never whole in memory when `writeStream` is given).
 *
 * @example
 * ```ts
 * const zip = await zipFiles([{ name: "a.txt", blob: new Blob(["hi"]) }]);
 * console.log(zip.type); // "application/zip"
 * ```
 */
export async function zipFiles(entries: ZipEntry[], options: ZipOptions = {}): Promise<Blob> {
  const names = uniqueNames(entries.map((entry) => entry.name));
  const stream = () =>
    makeZip(entries.map((entry, index) => ({
      name: names[index]!,
      input: entry.blob,
      lastModified: entry.blob instanceof File ? new Date(entry.blob.lastModified) : new Date(),
    })));
  if (options.writeStream) {
    try {
      const file = await options.writeStream(stream(), "all.zip");
      return file.slice(0, file.size, "application/zip");
    } catch { /* fall back to memory */ }
  }
  const blob = await new Response(stream()).blob();
  return blob.slice(0, blob.size, "application/zip");
}
