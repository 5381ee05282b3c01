import { resolve } from 'node:path';

/** The package's root folder: a clone of the repository, or `node_modules/residual-learning`. */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..'); // dist/util/ → the root
