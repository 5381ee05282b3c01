// A plotly.js figure as plain data: what every chart builds and every renderer (figure.ts, svg.ts) reads.

/** One plotly.js trace (`{ type: 'scatter', x, y, ... }`); see plotly.js's reference. */
export interface Trace {
  type?: string;
  name?: string;
  [attribute: string]: unknown;
}

/** A plotly.js figure: traces and layout, plain JSON-able data (nothing drawn yet). */
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
}
