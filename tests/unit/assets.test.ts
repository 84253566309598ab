import { describe, expect, it } from 'vitest';
import { buildAssets } from '../../scripts/build-assets.js';

describe('bundled assets (scripts/build-assets.ts)', () => {
  it('the committed dashboard bundle is the bundle of its TypeScript sources (npm run build regenerates it)', async () => {
    expect(await buildAssets(true)).toEqual([]);
  });
});
