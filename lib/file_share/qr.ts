/** QR codes of join links, as SVG path data (no canvas, no inline script: fits the page's CSP). */
import QRCode from "qrcode";

/** A QR code as one SVG path over a square of `size` modules (plus a 2-module quiet zone). */
export interface QrPath {
  /** Width and height of the view box, in modules, quiet zone included. */
  size: number;
  /** Path data drawing every dark module as a 1×1 square. */
  path: string;
}

/**
 * Encodes `text` (error correction M) as SVG path data.
 *
 * @example
 * ```tsx
 * const { size, path } = qrPath("https://sb.example/r/K7QX3M");
 * <svg viewBox={`0 0 ${size} ${size}`}><path d={path} /></svg>;
 * ```
 */
export function qrPath(text: string, options: { margin?: number } = {}): QrPath {
  const margin = options.margin ?? 2;
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const count: number = qr.modules.size;
  const data: ArrayLike<number | boolean> = qr.modules.data;
  let path = "";
  for (let row = 0; row < count; row++) {
    let run = 0;
    for (let column = 0; column <= count; column++) {
      const dark = column < count && Boolean(data[row * count + column]);
      if (dark) {
        run++;
        continue;
      }
      if (run > 0) {
        path += `M${column - run + margin} ${row + margin}h${run}v1h-${run}z`;
        run = 0;
      }
    }
  }
  return { size: count + margin * 2, path };
}
