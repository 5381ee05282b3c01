/** `[#####.....]`: a fraction in [0, 1] as a bar of `width` characters (the download and training progress lines). */
export function textBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
