/**
 * Bytes in the largest binary unit that keeps the number readable (1 decimal above bytes), in the
 * page's locale: "1,5 MiB" in French. The one formatter every page uses.
 */
export function formatBytes(n: number, locale?: string): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: i === 0 ? 0 : 1, minimumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
}
