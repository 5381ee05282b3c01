/** Colours for one trace per model, in order (colour-blind friendly, Okabe & Ito). */
export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];

/** The colour of the `index`-th series. */
export function colorAt(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}
