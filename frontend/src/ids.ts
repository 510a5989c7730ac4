// The uuid of a transfer is its command id: the endpoint moves money once per uuid, so a
// retry after a timeout reuses it.

type FillRandom = (bytes: Uint8Array) => Uint8Array;

const browserRandom: FillRandom = (bytes) => crypto.getRandomValues(bytes);

/**
 * A random (version 4) UUID. Built from getRandomValues rather than crypto.randomUUID, which
 * browsers only offer on https or localhost, so the app also works when served on a LAN address.
 */
export function newTransferId(fillRandom: FillRandom = browserRandom): string {
  const bytes = fillRandom(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
