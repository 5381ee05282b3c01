/** Colours for one trace per model, in order (colour-blind friendly, Okabe & Ito). */
export const PALETTE: readonly string[] = ['#E69F00', '#D55E00', '#0072B2', '#009E73', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

/** The colour of the `index`-th series. */
export function colorAt(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}
