import { Hono } from 'hono';
import { asset, chartAssets, type Asset } from '../../../src/infra/charts/index.js';
import { dashboardScript } from './client.generated.js';
import { dashboardPage } from './page.js';
import { dashboardCss } from './styles.js';

/** The page may load only its own scripts and styles and talk only to its own origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let built: { readonly page: string; readonly assets: ReadonlyMap<string, Asset> } | undefined;

/** Builds the page and its assets once; each asset's URL carries its content hash. */
function build() {
  if (built) return built;
  const chart = chartAssets();
  const app = {
    // client/*.ts, bundled by npm run build (scripts/build-assets.ts)
    js: asset(dashboardScript, 'text/javascript; charset=utf-8'),
    css: asset(dashboardCss, 'text/css; charset=utf-8'),
  };
  const named: [string, Asset][] = [
    [`app.${app.js.hash}.js`, app.js],
    [`app.${app.css.hash}.css`, app.css],
    [`uplot.${chart.js.hash}.js`, chart.js],
    [`uplot.${chart.css.hash}.css`, chart.css],
  ];
  const url = (i: number) => `/dashboard/assets/${named[i]![0]}`;
  built = {
    page: dashboardPage({ appJs: url(0), appCss: url(1), chartJs: url(2), chartCss: url(3) }),
    assets: new Map(named),
  };
  return built;
}

/**
 * The live dashboard, served by the API's own Hono app: `GET /` (the page: structure only, no
 * data, so no token) and `GET /dashboard/assets/<name>.<hash>.<ext>` (its script, stylesheet and
 * uPlot, from memory, cached for good since a change makes a new URL). The page asks for an API
 * token and reads everything from `/api/v1` with it.
 */
export function dashboardRoutes(): Hono {
  const routes = new Hono();
  routes.get('/', (c) => {
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-cache');
    return c.html(build().page);
  });
  routes.get('/dashboard/assets/:name', (c) => {
    const a = build().assets.get(c.req.param('name'));
    if (!a)
      return c.json(
        { error: { code: 'not_found', message: `no dashboard asset ${c.req.param('name').slice(0, 80)}` } },
        404,
      );
    c.header('Content-Type', a.contentType);
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(a.body);
  });
  return routes;
}
