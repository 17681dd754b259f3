// pngjs (a dependency of qrcode) ships no types; the tests read PNGs back with it.
declare module 'pngjs' {
  export const PNG: { sync: { read(buffer: Buffer): { width: number; height: number; data: Buffer }; write(png: unknown): Buffer } };
}
