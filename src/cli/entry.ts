// Entry of the built bundle (`npm run build` -> dist/sextant.mjs): the same CLI as the `sextant`
// bin, without the TypeScript loader (less memory, faster start).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
